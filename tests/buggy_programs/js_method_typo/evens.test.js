const test = require('node:test');
const assert = require('node:assert');
const { evens } = require('./evens');

test('evens', () => {
  assert.deepStrictEqual(evens([1, 2, 3, 4]), [2, 4]);
});
