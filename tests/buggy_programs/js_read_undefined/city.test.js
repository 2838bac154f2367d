const test = require('node:test');
const assert = require('node:assert');
const { cityOf } = require('./city');

test('city', () => {
  assert.strictEqual(cityOf({ address: { city: 'Oslo' } }), 'Oslo');
  assert.strictEqual(cityOf({}), undefined);
});
