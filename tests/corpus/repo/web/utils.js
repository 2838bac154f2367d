'use strict';

function lastItems(items, count) {
  const result = [];
  for (let i = items.length - count; i <= items.length; i++) {
    result.push(items[i]);
  }
  return result;
}

function greet(user) {
  return 'Hello, ' + user.name;
}

module.exports = { lastItems, greet };
