from parse import load_port, parse_pairs


def test_port():
    assert load_port('{"port": "80"}') == 80


def test_pairs_with_equals_in_value():
    assert parse_pairs("url = a=b") == {"url": "a=b"}


def test_port_missing_defaults():
    assert load_port("{}") == 8000
