const test = require('node:test');
const assert = require('node:assert');
const { quadruple } = require('./main');

test('quadruple', () => {
  assert.strictEqual(quadruple(2), 8);
});
