const test = require('node:test');
const assert = require('node:assert');
const { fib } = require('./fib');

test('fib', () => {
  assert.strictEqual(fib(10), 55);
});
