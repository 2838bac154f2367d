from config import timeout_of


def test_timeout_given():
    assert timeout_of({"timeout": 5}) == 5


def test_timeout_missing():
    assert timeout_of({}) is None
