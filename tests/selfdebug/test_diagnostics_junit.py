"""Reading the sandbox's per-test results of pytest's and node's JUnit XML: ids, messages, frames.

Paths are as the sandbox reports them: relative inside the scratch tree, absolute outside."""

from __future__ import annotations

from pathlib import Path

from healing.sandbox import TestOutcome
from healing.sandbox.reports import parse_junit
from selfdebug.results import Failure, Frame, read_node, read_pytest

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_app.TestAdd" name="test_add" file="tests/test_app.py" line="3" time="0.002">
<failure message="NameError: name 'totl' is not defined">tests/test_app.py:5: in test_add
    assert add(1, 2) == 3
app.py:2: in add
    return totl
E   NameError: name 'totl' is not defined</failure></testcase>
<testcase classname="tests.test_app" name="test_ok" file="tests/test_app.py" line="8" time="0.001" />
<testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0.000">
<error message="collection failure">tests/test_broken.py:1: in &lt;module&gt;
    from m import f
E     File "m.py", line 1
E       def f(x)
E               ^
E   SyntaxError: expected ':'</error></testcase>
</testsuite></testsuites>"""

NODE_XML = """<?xml version="1.0" encoding="utf-8"?><testsuites>
<testcase name="sum" time="0.001" classname="test"><failure type="testCodeFailure" message="totl is not defined">
Error [ERR_TEST_FAILURE]: totl is not defined
  cause: ReferenceError [Error]: totl is not defined
      at sum (sum.js:4:10)
      at TestContext.&lt;anonymous&gt; (sum.test.js:6:22)
      at helper (/usr/lib/node/helper.js:1:1)
      at Test.runInAsyncScope (node:async_hooks:206:9)
</failure></testcase>
<testcase name="ok" time="0.0001" classname="test"/></testsuites>"""


def _read(tmp_path: Path, xml: str) -> list[TestOutcome]:
    report = tmp_path / "report.xml"
    report.write_text(xml)
    return parse_junit(report)


def test_it_reads_pytest_failures_with_their_frames(tmp_path: Path) -> None:
    cases = [read_pytest(t) for t in _read(tmp_path, PYTEST_XML)]
    assert [c.nodeid for c in cases] == [
        "tests/test_app.py::TestAdd::test_add",
        "tests/test_app.py::test_ok",
        "tests/test_broken.py",
    ]
    failing = Failure(cases[0])
    assert failing.outcome == "failed"
    assert failing.exception_type == "NameError"
    assert "return totl" in failing.details and failing.test.duration_ms == 2.0
    assert failing.source_frame().path == "app.py" and failing.source_frame().line == 2
    assert cases[1].outcome == "passed"


def test_it_reads_a_collection_error_as_the_whole_file(tmp_path: Path) -> None:
    broken = Failure(read_pytest(_read(tmp_path, PYTEST_XML)[2]))
    assert broken.outcome == "error"
    assert broken.message == "SyntaxError: expected ':'"
    assert broken.source_frame().path == "m.py"


def test_it_reads_node_failures_with_the_cause_and_innermost_frame(tmp_path: Path) -> None:
    cases = [read_node(t, "sum.test.js") for t in _read(tmp_path, NODE_XML)]
    assert [c.nodeid for c in cases] == ["sum.test.js::sum", "sum.test.js::ok"]
    failing = Failure(cases[0])
    assert failing.language == "javascript"
    assert failing.message == "ReferenceError: totl is not defined"
    assert failing.exception_type == "ReferenceError"
    assert failing.source_frame().path == "sum.js" and failing.source_frame().line == 4
    assert Frame("/usr/lib/node/helper.js", 1) in failing.frames  # outside the tree: absolute
