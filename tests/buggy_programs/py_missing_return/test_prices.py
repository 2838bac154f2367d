from prices import with_tax


def test_with_tax():
    assert with_tax(100) == 125.0
