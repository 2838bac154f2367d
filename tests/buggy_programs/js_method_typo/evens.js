function evens(values) {
  return values.fliter((v) => v % 2 === 0);
}
module.exports = { evens };
