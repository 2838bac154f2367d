from cart import Cart


def test_add():
    cart = Cart()
    assert cart.add("apple") == 1
