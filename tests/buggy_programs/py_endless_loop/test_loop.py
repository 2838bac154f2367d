from loop import spin


def test_spin():
    assert spin(3) == 3
