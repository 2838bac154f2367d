function sum(values) {
  let total = 0;
  for (const v of values) total += v;
  return totl;
}
module.exports = { sum };
