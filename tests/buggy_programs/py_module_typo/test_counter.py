from counter import most_common


def test_most_common():
    assert most_common(["a", "b", "a"]) == "a"
