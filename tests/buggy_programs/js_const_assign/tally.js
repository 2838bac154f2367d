function tally(values) {
  const count = 0;
  for (const v of values) {
    if (v) count += 1;
  }
  return count;
}
module.exports = { tally };
