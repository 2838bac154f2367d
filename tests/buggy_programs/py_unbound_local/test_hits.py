import hits


def test_hit():
    assert hits.hit() == 1
    assert hits.hit() == 2
