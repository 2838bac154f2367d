function words(text) {
  return text.split(' ').filter((w) => w.length > 0);
}
function countWords(text) {
  return word(text).length;
}
module.exports = { words, countWords };
