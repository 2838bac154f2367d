from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from healing.actions import do_emergency_stop, do_resume, record_event
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _table(client: Client, url: str) -> str:
    html = client.get(url).content.decode()
    return html[html.index('id="audit-table"') :]


def _body(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def history(workspace: Any, operator: Any) -> Any:
    mod = awaiting(workspace, "LOW_RISK")
    do_emergency_stop(operator, "drill")
    do_resume(operator, "drill over")
    record_event("note.other", "system", reason="unrelated")
    return mod


def test_it_filters_by_kind_user_patch_and_workspace(reviewer: Any, history: Any) -> None:
    client = _client(reviewer)
    html = _table(client, "/audit/?kind=engine.")
    assert "drill over" in html and "note.other" not in html
    html = _table(client, "/audit/?user=olga-operator")
    assert "engine.emergency_stop" in html and "held for a reviewer" not in html
    html = _table(client, f"/audit/?patch={history.patch_id}")
    assert "held for a reviewer" in html and "drill" not in html
    html = _table(client, "/audit/?workspace=demo")
    assert "held for a reviewer" in html and "drill" not in html


def test_it_filters_by_time_and_explains_a_bad_date(reviewer: Any, history: Any) -> None:
    client = _client(reviewer)
    assert "drill" not in _table(client, "/audit/?until=2000-01-01")
    assert "drill" in client.get("/audit/?since=2000-01-01").content.decode()
    response = client.get("/audit/?since=yesterday")
    assert response.status_code == 400 and "is not a date" in response.content.decode()


def test_it_exports_csv_and_json_with_the_same_filters(reviewer: Any, history: Any) -> None:
    client = _client(reviewer)
    rows = list(csv.DictReader(io.StringIO(_body(client.get("/audit/export.csv?kind=engine.")))))
    assert [r["kind"] for r in rows] == ["engine.resume", "engine.emergency_stop"]
    assert rows[0]["actor"] == "user:olga-operator"
    events = json.loads(_body(client.get("/audit/export.json?kind=engine.")))
    assert [e["reason"] for e in events] == ["drill over", "drill"]
    assert client.get("/audit/export.json?since=bad").status_code == 400


@pytest.mark.parametrize(
    "payload", ['=HYPERLINK("http://x")', "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\r=1"]
)
def test_it_neutralises_cells_a_spreadsheet_would_run_as_formulas(
    reviewer: Any, payload: str
) -> None:
    # A reason an agent or a user typed, exported to CSV and opened in a spreadsheet.
    record_event("note.formula", "system", reason=payload)
    body = _body(_client(reviewer).get("/audit/export.csv?kind=note.formula"))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["reason"] for r in rows] == ["'" + payload]
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
