function largest(values) {
  let best = values[0];
  for (const v of values) if (v < best) best = v;
  return best;
}
module.exports = { largest };
