from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from approvals import diffview
from tests.console_helpers import DIFF, VALIDATION


def test_it_pins_findings_to_new_line_numbers_and_pairs_lines_side_by_side() -> None:
    view = diffview.build(DIFF, VALIDATION)
    (f,) = view.files
    lines = f.hunks[0].lines
    pinned = [line for line in lines if line.findings]
    assert [(line.kind, line.new) for line in pinned] == [("added", 2)]
    assert [x.message for x in view.general] == ["outside the diff"]
    rows = f.hunks[0].rows
    # "-return a + b" sits beside "+total = a + b"; "+return total" has no partner on the left.
    assert [(r.left.kind if r.left else None, r.right.kind if r.right else None) for r in rows] == [
        ("context", "context"),
        ("removed", "added"),
        (None, "added"),
    ]


def test_it_escapes_what_the_patch_contains() -> None:
    hostile = DIFF.replace("total = a + b", "x = '<script>alert(1)</script>'")
    html = "".join(str(line.html) for line in diffview.build(hostile, {}).files[0].hunks[0].lines)
    assert "<script>" not in html and "&lt;script&gt;" in html


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=400),
    st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
)
def test_it_never_raises_on_any_text(diff: str, validation: object) -> None:
    view = diffview.build(diff, validation)
    assert isinstance(view.files, list)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "diff --git a/x b/x\n",
                "--- a/x\n",
                "+++ b/x\n",
                "@@ -1,2 +1,2 @@\n",
                "@@ -1 +1 @@\n",
                " ctx\n",
                "-old\n",
                "+new\n",
                "\\ No newline at end of file\n",
                "garbage\n",
            ]
        ),
        max_size=30,
    )
)
def test_it_never_raises_on_diff_shaped_text(parts: list[str]) -> None:
    diffview.build(
        "".join(parts), {"s": {"findings": [{"file": "x", "line": 1, "message": "m"}, "junk"]}}
    )
