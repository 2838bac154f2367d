const { test } = require('node:test');
const assert = require('node:assert');
const { countWords } = require('../lib');
test('counts', () => { assert.strictEqual(countWords('a b  c'), 3); });
