const test = require('node:test');
const assert = require('node:assert');
const { largest } = require('./max');

test('largest', () => {
  assert.strictEqual(largest([3, 9, 4]), 9);
});
