from users import display_name


def test_known():
    assert display_name(1) == "ada"


def test_unknown():
    assert display_name(2) == "guest"
