from fmt import header


def test_header():
    assert header() == "speed [m/s]"
