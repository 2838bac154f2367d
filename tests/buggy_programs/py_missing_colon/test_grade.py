from grade import grade


def test_grade():
    assert grade(70) == "pass"
    assert grade(10) == "fail"
