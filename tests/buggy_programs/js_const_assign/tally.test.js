const test = require('node:test');
const assert = require('node:assert');
const { tally } = require('./tally');

test('tally', () => {
  assert.strictEqual(tally([1, 0, 1]), 2);
});
