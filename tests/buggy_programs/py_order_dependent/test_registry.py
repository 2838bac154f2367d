from registry import register


def test_register_first():
    assert register("a") == 1


def test_register_counts_from_one():
    # Passes alone; fails after test_register_first, which leaves state behind.
    assert register("b") == 1
