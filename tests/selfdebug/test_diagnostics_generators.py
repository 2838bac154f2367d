"""The OpenAI-compatible generator against a small local fake server (the edge we do not own)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from selfdebug.actions import do_request_run
from selfdebug.generators import (
    FixRequest,
    GeneratorError,
    OpenAIChatGenerator,
    extract_diff,
)
from selfdebug.models import FixProposal
from selfdebug.tasks import run_diagnostics
from tests import factories
from tests.diag_helpers import corpus_repo

GOOD_DIFF = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""


class FakeModel:
    """What the next answer is: a callable from the request body to (status, body bytes, delay)."""

    def __init__(self) -> None:
        self.answer: Any = lambda body: (
            200,
            _completion(f"Here you go:\n```diff\n{GOOD_DIFF}```\n"),
            0,
        )
        self.requests: list[dict] = []


def _completion(content: Any) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


@pytest.fixture
def fake_model() -> Iterator[tuple[str, FakeModel]]:
    model = FakeModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            model.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            status, payload, delay = model.answer(body)
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", model
    server.shutdown()
    server.server_close()


def _request(tmp_path: Path) -> FixRequest:
    repo = factories.make_git_repo(
        tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n"}
    )
    return FixRequest(
        repo, "calc.py", "python", "AssertionError: assert -1 == 5", "calc.py:2: AssertionError"
    )


def test_it_turns_a_fenced_diff_into_a_validated_fix(
    tmp_path: Path, fake_model: tuple[str, FakeModel]
) -> None:
    url, model = fake_model
    fix = OpenAIChatGenerator(url, "fake-model", api_key="k-123", timeout=5).generate_fix(
        _request(tmp_path)
    )
    assert fix.diff == GOOD_DIFF and fix.path == "calc.py" and fix.pattern == "fake-model"
    [sent] = model.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer k-123"
    assert sent["body"]["model"] == "fake-model"
    assert "return a - b" in sent["body"]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (lambda b: (200, b"{not json", 0), "not a chat completion"),
        (lambda b: (200, json.dumps({"choices": []}).encode(), 0), "not a chat completion"),
        (lambda b: (200, _completion(None), 0), "empty"),
        (lambda b: (200, _completion("I think you should use plus."), 0), "no unified diff"),
        (lambda b: (500, b'{"error": "overloaded"}', 0), "HTTP 500"),
        (lambda b: (200, _completion(GOOD_DIFF.replace("a - b", "a * b")), 0), "does not apply"),
        (
            lambda b: (
                200,
                _completion(GOOD_DIFF.replace("+    return a + b", "+    return a +")),
                0,
            ),
            "does not parse",
        ),
        (
            lambda b: (200, _completion(GOOD_DIFF.replace("calc.py", "../../etc/passwd")), 0),
            "outside the tree",
        ),
        (
            lambda b: (200, _completion("--- a/calc.py\n+++ b/calc.py\n@@ garbage @@\n"), 0),
            "does not",
        ),
        (lambda b: (200, _completion(GOOD_DIFF), 3), "did not answer within"),
    ],
    ids=[
        "malformed-json",
        "no-choices",
        "null-content",
        "prose",
        "http-500",
        "not-applying",
        "bad-syntax",
        "escaping-path",
        "broken-hunk",
        "timeout",
    ],
)
def test_it_refuses_what_is_not_a_usable_diff(
    tmp_path: Path, fake_model: tuple[str, FakeModel], answer: Any, error: str
) -> None:
    url, model = fake_model
    model.answer = answer
    with pytest.raises(GeneratorError, match=error):
        OpenAIChatGenerator(url, "fake-model", timeout=1).generate_fix(_request(tmp_path))


def test_it_reports_an_unreachable_model() -> None:
    generator = OpenAIChatGenerator("http://127.0.0.1:9/v1", "m", timeout=1)
    with pytest.raises(GeneratorError, match="cannot reach"):
        generator._ask([{"role": "user", "content": "hi"}])


def test_it_extracts_a_bare_diff_too() -> None:
    assert extract_diff("Sure.\n" + GOOD_DIFF) == GOOD_DIFF


def test_it_is_off_unless_configured(settings: Any) -> None:
    from selfdebug.generators import configured_generator

    assert configured_generator() is None
    settings.DIAGNOSTICS_GENERATOR = {
        "base_url": "http://127.0.0.1:1/v1",
        "model": "m",
        "timeout": 2,
    }
    assert configured_generator().label == "m"


def test_it_asks_the_model_when_no_template_fits_and_proposes_its_fix_as_model_source(
    tmp_path: Path,
    fake_model: tuple[str, FakeModel],
    operator: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url, model = fake_model
    settings.DIAGNOSTICS_GENERATOR = {
        "base_url": url,
        "model": "fake-model",
        "api_key": "",
        "timeout": 10,
    }
    workspace = factories.make_workspace(
        corpus_repo(tmp_path, "py_wrong_operator"),
        name="op",
        policy_overrides={"diagnostics.static_analysis": False},
    )
    with django_capture_on_commit_callbacks(execute=False):
        run = do_request_run(workspace, operator)
    run_diagnostics(run.pk)
    run.refresh_from_db()
    [fix] = run.report["diagnostics"][0]["potential_fixes"]
    assert fix["template"] == "model" and fix["verification"]["passed"] is True
    proposal = FixProposal.objects.get(run=run)
    assert proposal.origin == "model" and proposal.source == "model:fake-model"
    assert proposal.modification.source == "model:fake-model"


def test_it_asks_the_model_for_a_bug_no_template_fixes(
    tmp_path: Path, fake_model: tuple[str, FakeModel], operator: Any, settings: Any, api_as: Any
) -> None:
    from selfdebug.models import DetectedBug

    url, model = fake_model
    settings.DIAGNOSTICS_GENERATOR = {
        "base_url": url,
        "model": "fake-model",
        "api_key": "",
        "timeout": 10,
    }
    repo = factories.make_git_repo(
        tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n"}
    )
    workspace = factories.make_workspace(repo, name="calc")
    bug = DetectedBug.objects.create(
        workspace=workspace,
        tool="ast",
        code="logic",
        severity="medium",
        path="calc.py",
        line=2,
        message="minus",
    )
    response = api_as(operator).post(f"/api/v1/bugs/{bug.pk}/fix/")
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "model:fake-model"

    model.answer = lambda body: (200, _completion("no idea"), 0)
    again = api_as(operator).post(f"/api/v1/bugs/{bug.pk}/fix/")
    assert again.status_code == 422 and "refused" in again.json()["detail"]
