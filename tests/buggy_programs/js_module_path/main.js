const { double } = require('./utlis');
function quadruple(x) {
  return double(double(x));
}
module.exports = { quadruple };
