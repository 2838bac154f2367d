from geometry import hypotenuse


def test_hypotenuse():
    assert hypotenuse(3, 4) == 5
