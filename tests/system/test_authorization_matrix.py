"""Who may reach what: every URL the resolver knows × every persona, plus the websocket.

URLs are enumerated from the resolver, so a new endpoint from any area is covered the moment it
is routed. Its name must be classified in ACCESS below: an unknown URL name fails the test until
someone decides who may use it.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from rest_framework.test import APIClient

from tests import factories
from tests.console_helpers import awaiting, live_socket

PERSONAS = ("anonymous", "outsider", "agent", "reviewer", "operator", "admin", "staff")

# Who gets in, by class. "open" pages are checked only for never failing (login, logout).
CLASSES: dict[str, set[str]] = {
    "open": set(PERSONAS),
    "public": set(PERSONAS),
    "authenticated": set(PERSONAS) - {"anonymous"},
    # "staff" is a superuser: healing.roles gives superusers every role of a person.
    "console": {"reviewer", "operator", "admin", "staff"},
    "reviewer": {"reviewer", "operator", "admin", "staff"},
    "operator": {"operator", "admin", "staff"},
    "admin": {"admin", "staff"},
    "agent_or_admin": {"agent", "admin", "staff"},
    # Agents read their own patches (and submit); people of the console read them all.
    "agent_or_console": {"agent", "reviewer", "operator", "admin", "staff"},
    "agent_or_operator": {"agent", "operator", "admin", "staff"},
    "staff": {"staff"},  # Django's admin site: is_staff accounts, not roles
    # No person: only a request signed with a shared secret (the chat platform's, a forge's).
    "signed": set(),
}

# URL name → class. One row per routed URL; the admin site's own names are matched by namespace.
ACCESS: dict[str, str] = {
    "healthz": "public",
    "login": "open",
    "logout": "open",
    # sign-in with the company's OpenID Connect provider (404 while it is not configured)
    "oidc_authentication_init": "open",
    "oidc_authentication_callback": "open",
    "api-schema": "authenticated",
    "metrics": "console",  # or the METRICS_TOKEN bearer
    "monitoring-console": "console",
    "loop-start": "operator",
    "loop-stop": "operator",
    "loop-interval": "operator",
    "workspaces": "console",
    "workspace": "console",
    "diagnostics-runs": "console",
    "diagnostics-run": "console",
    "diagnostics-run-create": "operator",
    # console pages (approvals/urls.py)
    "dashboard": "console",
    "dashboard-panels": "console",
    "review": "console",
    "approve": "reviewer",
    "reject": "reviewer",
    "cancel": "operator",
    "bulk-approve": "reviewer",
    "engine-stop": "operator",
    "breaker-action": "admin",
    "engine-resume": "operator",
    "thresholds": "admin",
    "thresholds-history": "admin",
    # API tokens (healing/token_urls.py)
    "tokens": "admin",
    "token-rotate": "admin",
    "token-revoke": "admin",
    "token-grant": "admin",
    "audit": "console",
    "audit-export-csv": "console",
    "audit-export-json": "console",
    # deciding from a notification: a reviewer's own link; the chat platform's signed callback
    "action-link": "reviewer",
    "chat-actions": "signed",
    # API (approvals/api_urls.py)
    "api-engine": "console",
    "api-emergency-stop": "operator",
    "api-resume": "operator",
    "api-patch-approve": "reviewer",
    "api-patch-reject": "reviewer",
    "api-patch-cancel": "operator",
    # patches and workspaces (healing/api/patches.py, workspaces.py)
    "api-patches": "agent_or_console",  # GET: own (agent) or all; POST: agent or admin
    "api-patch": "agent_or_console",
    "api-patch-envelope": "agent_or_console",
    "api-patch-sandbox-runs": "agent_or_console",
    "api-envelope-schema": "authenticated",
    "api-workspaces": "console",  # GET: console; POST: admin
    "api-workspace-environments": "console",  # GET: console; POST (rebuild): operator
    "api-forge-webhook": "signed",
    # sandbox, apply, backups
    "api-patch-rollback": "operator",
    "api-backups": "admin",
    "api-backup-restore": "admin",
    # judgement
    "api-breakers": "console",
    "api-workspace-breaker": "console",
    "api-engine-breaker-action": "admin",
    "api-source-breaker-action": "admin",
    "api-workspace-breaker-action": "admin",
    "api-cascade": "console",
    "api-calibration": "console",
    "api-learning": "console",
    # monitoring
    "api-snapshots": "agent_or_admin",
    "api-baseline": "agent_or_operator",
    "api-health": "console",
    "api-degradation": "console",
    "api-status": "console",
    "api-history": "console",
    "api-loop-start": "operator",
    "api-loop-stop": "operator",
    "api-loop-interval": "operator",
    # Moved to api/v1/loop/: 410 Gone with the new URL, to anyone, granting nothing.
    "api-loop-start-moved": "open",
    "api-loop-stop-moved": "open",
    "api-loop-interval-moved": "open",
    "api-healing-attempts": "console",
    "api-healing-approve": "console",  # a reviewer decides rollbacks, an operator engine commands
    "api-healing-reject": "console",
    "api-fitness": "console",
    # self-debugging
    "api-diagnostic-runs": "console",  # GET: console; POST: operator
    "api-diagnostic-run": "console",
    "api-diagnostic-run-log": "console",
    "api-diagnostic-patterns": "console",
    "api-diagnostic-proposals": "console",
    "api-diagnostic-coverage": "console",
    "api-diagnostic-testgen": "operator",
    "api-bugs": "console",
    "api-bug-fix": "operator",
}
ADMIN_OPEN = {"admin:login", "admin:logout"}
# Django's admin pages all go through one staff check; three kinds of persona are enough there.
ADMIN_PERSONAS = ("anonymous", "admin", "staff")


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> list[tuple[str, URLPattern, str]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        else:
            found.append(
                (
                    f"{namespace}{entry.name}" if entry.name else "",
                    entry,
                    prefix + str(entry.pattern),
                )
            )
    return found


def _class_of(name: str) -> str | None:
    if name.startswith("admin:"):
        return "open" if name in ADMIN_OPEN else "staff"
    return ACCESS.get(name)


def _kwargs(pattern: URLPattern, sample_pk: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    converters = getattr(pattern.pattern, "converters", {})
    for group in pattern.pattern.regex.groupindex:
        if (
            isinstance(converters.get(group), IntConverter)
            or group.endswith("_id")
            or group == "pk"
        ):
            kwargs[group] = sample_pk
        elif group == "app_label":
            kwargs[group] = "healing"
        elif group == "action":  # the breaker actions: force-open|force-close|reset
            kwargs[group] = "reset"
        else:
            kwargs[group] = str(sample_pk)
    return kwargs


def _denied(response: Any) -> bool:
    # 405 grants nothing either: a page that only answers GET refuses a POST before any role check.
    if response.status_code in (401, 403, 405):
        return True
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    return "/login/" in location


def test_it_classifies_every_routed_url() -> None:
    unknown = sorted(
        {
            f"{name or '(unnamed)'} → {route}"
            for name, _, route in _walk(get_resolver().url_patterns)
            if not (name == "" and route.startswith("admin/")) and _class_of(name) is None
        }
    )
    assert not unknown, "Classify these URLs in ACCESS (who may use them?):\n" + "\n".join(unknown)


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    staff = factories.make_user("sam-staff")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    return {
        "anonymous": None,
        "outsider": factories.make_user("otto"),
        "agent": factories.make_user("agent-x", role="agent"),
        "reviewer": factories.make_user("rev-x", role="reviewer"),
        "operator": factories.make_user("op-x", role="operator"),
        "admin": factories.make_user("adm-x", role="admin"),
        "staff": staff,
    }


@pytest.mark.django_db
def test_it_finds_no_hole_in_the_matrix(people: dict[str, Any], workspace: Any) -> None:
    sample = awaiting(workspace, "LOW_RISK")
    holes: list[str] = []
    checked = 0
    for name, pattern, route in _walk(get_resolver().url_patterns):
        cls = _class_of(name)
        if not name or cls is None:
            continue
        try:
            url = reverse(name, kwargs=_kwargs(pattern, sample.pk))
        except Exception as exc:  # noqa: BLE001 - reported as a hole in the test itself
            holes.append(f"{name}: cannot build a URL for {route}: {exc}")
            continue
        for persona, user in people.items():
            if name.startswith("admin:") and persona not in ADMIN_PERSONAS:
                continue
            results = []
            for method in ("get", "post"):
                is_api = url.startswith("/api/")
                client = APIClient() if is_api else Client()
                if user is not None:
                    if is_api:
                        client.credentials(HTTP_AUTHORIZATION=f"Token {factories.token_for(user)}")
                    else:
                        client.force_login(user)
                response = getattr(client, method)(url)
                checked += 1
                # /healthz answers 503 by design when a component (the worker) is down.
                if response.status_code >= 500 and not (
                    name == "healthz" and response.status_code == 503
                ):
                    holes.append(f"{persona} {method.upper()} {url}: {response.status_code}")
                results.append(_denied(response))
            if cls == "open":
                continue
            allowed = persona in CLASSES[cls]
            # An admin page a ModelAdmin switched off (add an Approval, delete an AuditEvent) is 403 for all.
            closed_by_design = (
                name.startswith("admin:") and persona == "staff" and response.status_code == 403
            ) or name == "admin:autocomplete"  # 403 to any request without its query parameters
            if allowed and all(results) and not closed_by_design:
                holes.append(f"{persona} is kept out of {name} ({url}) but should get in")
            if not allowed and not all(results):
                holes.append(f"HOLE: {persona} gets into {name} ({url}), which is for {cls}")
    assert checked > 100
    assert not holes, "\n".join(holes)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "persona", ["anonymous", "outsider", "agent", "reviewer", "operator", "admin"]
)
async def test_it_lets_only_people_of_the_console_onto_the_websocket(persona: str) -> None:
    from django.db import connections

    role = None if persona in ("anonymous", "outsider") else persona
    key = None
    if persona != "anonymous":
        user = await database_sync_to_async(factories.make_user)(None, role)
        key = await database_sync_to_async(factories.token_for)(user)
    communicator = live_socket(key)
    connected, _ = await communicator.connect(timeout=5)
    assert connected == (persona in CLASSES["console"])
    if connected:
        await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
