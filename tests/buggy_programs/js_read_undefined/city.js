function cityOf(user) {
  // A user without an address has no city (undefined).
  return user.address.city;
}
module.exports = { cityOf };
