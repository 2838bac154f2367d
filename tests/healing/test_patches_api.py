from __future__ import annotations

import json
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.intake.tasks import process_modification
from healing.models import AuditEvent, Modification
from tests import factories
from tests.intake_helpers import ESCAPE_DIFF, FIX_DIFF, RM_RF_DIFF, envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/patches/"


def post(client: Any, body: Any, content_type: str = "application/json") -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.generic("POST", URL, data, content_type=content_type)


def test_it_accepts_the_smallest_envelope_of_the_issue(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    body = {
        "schema_version": "2.0",
        "patch_id": "agent-7f3a",
        "workspace": "demo",
        "language": "python",
        "error_classification": {"error_type": "logic", "severity": "medium"},
        "confidence_scoring": {"logits": [2.1, 0.4, 0.2]},
        "patch_data": {"diff": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ ..."},
    }
    response = post(api_as(agent), body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["status"] == "received"
    assert answer["url"] == f"/api/v1/patches/{answer['id']}/"
    assert response["Location"] == answer["url"]
    mod = Modification.objects.get(pk=answer["id"])
    assert mod.submitted_by == agent and mod.source == "agent:agent-7"
    assert AuditEvent.objects.filter(modification=mod, kind="modification.received").exists()


def test_it_moves_a_clean_fix_to_sandboxing(api_as: Any, agent: Any, workspace: Any) -> None:
    client = api_as(agent)
    answer = post(client, envelope(FIX_DIFF)).json()
    assert process_modification.run(answer["id"]) == "sandboxing"
    detail = client.get(answer["url"]).json()
    assert detail["status"] == "sandboxing"
    assert detail["safety_level"] == "SAFE" and detail["safety_rule"] == "change.small_clean"
    assert detail["base_commit"] and detail["files"] == ["app.py"]
    assert [e["to"] for e in detail["events"]] == ["validating", "sandboxing"]
    assert detail["preflight"]["intake"]["ok"] is True


def test_it_rejects_os_system_rm_rf_with_the_finding_shown(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    client = api_as(agent)
    answer = post(client, envelope(RM_RF_DIFF)).json()
    assert process_modification.run(answer["id"]) == "rejected"
    detail = client.get(answer["url"]).json()
    rules = {f["rule"] for f in detail["findings"]}
    assert {"danger.os_system", "danger.rm_rf"} <= rules
    top = detail["findings"][0]
    assert top["blocking"] and top["file"] == "app.py" and top["line"] == 4
    assert detail["safety_level"] == "CRITICAL" and detail["risk_level"] == "critical"


def test_it_rejects_a_patch_escaping_the_repository(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    client = api_as(agent)
    answer = post(client, envelope(ESCAPE_DIFF)).json()
    assert process_modification.run(answer["id"]) == "rejected"
    detail = client.get(answer["url"]).json()
    assert detail["findings"][0]["rule"] == "path.escape"


def test_it_builds_the_diff_from_original_and_patched_code(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    body = envelope()
    body["patch_data"] = {
        "original_code": "def add(a, b):\n    return a + b\n",
        "patched_code": "def add(a, b):\n    return int(a) + int(b)\n",
        "file_path": "app.py",
    }
    answer = post(api_as(agent), body).json()
    mod = Modification.objects.get(pk=answer["id"])
    assert mod.diff.startswith(
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@"
    )
    assert process_modification.run(mod.pk) == "sandboxing"


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        (b"{not json", "body", "Malformed JSON"),
        (b"\xff\xfe{}", "body", "UTF-8"),
        (b'{"a": "\x00"}', "body", "NUL"),
        (b"[]", "body", "JSON object"),
        (b"", "body", "empty"),
        (b'{"x": NaN}', "body", "Malformed JSON"),
    ],
)
def test_it_answers_400_to_garbage_bodies(
    api_as: Any, agent: Any, workspace: Any, body: bytes, field: str, needle: str
) -> None:
    response = post(api_as(agent), body)
    assert response.status_code == 400
    assert needle in " ".join(response.json()["fields"][field])
    assert not Modification.objects.exists()


def test_it_names_each_schema_violation_by_field(api_as: Any, agent: Any, workspace: Any) -> None:
    body = envelope()
    body["language"] = "cobol"
    body["error_classification"] = {"error_type": "typo"}
    del body["patch_id"]
    response = post(api_as(agent), body)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "Must be one of" in fields["language"][0]
    assert "Must be one of" in fields["error_classification.error_type"][0]
    assert fields["error_classification.severity"] == ["This field is required."]
    assert fields["patch_id"] == ["This field is required."]


def test_it_refuses_a_json_escaped_nul_byte_by_field(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    response = post(api_as(agent), envelope(FIX_DIFF + "\x00"))  # json.dumps sends it as \u0000
    assert response.status_code == 400
    assert "patch_data.diff" in response.json()["fields"]


def test_it_answers_400_when_the_diff_does_not_parse(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    response = post(api_as(agent), envelope("this is not a diff at all"))
    assert response.status_code == 400
    assert "file headers" in response.json()["fields"]["patch_data.diff"][0]


def test_it_answers_400_for_an_unknown_workspace(api_as: Any, agent: Any, workspace: Any) -> None:
    response = post(api_as(agent), envelope(workspace="nowhere"))
    assert response.status_code == 400
    assert "nowhere" in response.json()["fields"]["workspace"][0]


def test_it_ignores_the_server_sections_on_input(api_as: Any, agent: Any, workspace: Any) -> None:
    body = envelope(
        circuit_breaker_state={"circuit_state": "closed", "lie": True}, sandbox_execution="whatever"
    )
    answer = post(api_as(agent), body).json()
    stored = Modification.objects.get(pk=answer["id"]).envelope
    assert "circuit_breaker_state" not in stored and "sandbox_execution" not in stored


def test_it_answers_409_to_a_patch_id_seen_before(api_as: Any, agent: Any, workspace: Any) -> None:
    body = envelope()
    client = api_as(agent)
    assert post(client, body).status_code == 201
    response = post(client, body)
    assert response.status_code == 409
    assert "already" in response.json()["fields"]["patch_id"][0]
    assert Modification.objects.count() == 1


def test_it_answers_413_over_the_tunable_body_limit(
    api_as: Any, agent: Any, admin_user: Any, workspace: Any
) -> None:
    do_change_setting(admin_user, "intake.max_body_bytes", 2048)
    body = envelope(FIX_DIFF, metadata={"padding": "x" * 4000})
    response = post(api_as(agent), body)
    assert response.status_code == 413
    assert "2048" in response.json()["fields"]["body"][0]
    assert not Modification.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_it_answers_415_to_other_content_types(
    api_as: Any, agent: Any, workspace: Any, content_type: str
) -> None:
    response = post(api_as(agent), json.dumps(envelope()), content_type=content_type)
    assert response.status_code == 415
    assert not Modification.objects.exists()


def test_it_answers_401_without_a_token(api_as: Any, workspace: Any) -> None:
    assert post(api_as(None), envelope()).status_code == 401
    assert api_as(None).get(URL).status_code == 401


@pytest.mark.parametrize("persona", ["reviewer", "operator", "outsider"])
def test_it_lets_only_agents_and_admins_submit(
    api_as: Any, request: Any, workspace: Any, persona: str
) -> None:
    response = post(api_as(request.getfixturevalue(persona)), envelope())
    assert response.status_code == 403
    assert not Modification.objects.exists()


def test_it_shows_agents_only_their_own_patches(
    api_as: Any, agent: Any, reviewer: Any, workspace: Any
) -> None:
    other_agent = factories.make_user("agent-9", role="agent")
    mine = post(api_as(agent), envelope()).json()
    theirs = post(api_as(other_agent), envelope()).json()
    listed = api_as(agent).get(URL).json()
    assert [p["id"] for p in listed["results"]] == [mine["id"]]
    assert api_as(agent).get(theirs["url"]).status_code == 404
    assert api_as(agent).get(theirs["url"] + "envelope/").status_code == 404
    assert {p["id"] for p in api_as(reviewer).get(URL).json()["results"]} == {
        mine["id"],
        theirs["id"],
    }


def test_it_refuses_the_list_to_an_outsider(api_as: Any, outsider: Any) -> None:
    assert api_as(outsider).get(URL).status_code == 403


def test_it_returns_the_envelope_with_the_server_sections(
    api_as: Any, agent: Any, workspace: Any
) -> None:
    client = api_as(agent)
    body = envelope()
    answer = post(client, body).json()
    process_modification.run(answer["id"])
    full = client.get(answer["url"] + "envelope/").json()
    assert full["patch_data"] == body["patch_data"]
    assert full["circuit_breaker_state"]["ok"] is True
    assert full["circuit_breaker_state"]["checks"][0]["name"] == "emergency_stop"
    assert full["sandbox_execution"]["isolation_level"] == "partial"
    assert full["server"]["status"] == "sandboxing"


def test_it_serves_the_envelope_schema(api_as: Any, agent: Any) -> None:
    schema = api_as(agent).get("/api/v1/schemas/envelope-2.0.json").json()
    assert schema["properties"]["schema_version"] == {
        "const": "2.0",
        "description": "Version of this schema.",
    }


def test_it_documents_the_endpoints_in_the_openapi_schema(api_as: Any, admin_user: Any) -> None:
    response = api_as(admin_user).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    paths = response.json()["paths"]
    assert {
        "/api/v1/patches/",
        "/api/v1/patches/{id}/",
        "/api/v1/patches/{id}/envelope/",
        "/api/v1/workspaces/",
    } <= set(paths)
    assert {"201", "400", "409", "413", "415"} <= set(
        paths["/api/v1/patches/"]["post"]["responses"]
    )
