from money import add_prices


def test_add_prices():
    assert add_prices(0.1, 0.2) == 0.3
