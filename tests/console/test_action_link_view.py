"""The approve/reject links a notification carries: GET shows and asks, only the confirming POST
decides, once, for the reviewer the link was sent to, on the version of the patch it described."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from approvals.models import ActionLink, Approval
from healing.actions import do_change_setting, transition
from healing.actions.accounts import do_set_roles
from healing.models import Modification
from tests.console_helpers import awaiting, link_in_mail, mail_in_process

pytestmark = pytest.mark.django_db

RITA = "rita@example.invalid"


@pytest.fixture(autouse=True)
def eager(settings: Any) -> Any:
    with mail_in_process(settings):
        yield


@pytest.fixture
def rita(reviewer: Any) -> Any:
    reviewer.email = RITA
    reviewer.save(update_fields=["email"])
    return reviewer


def _held(workspace: Any, capture: Any, level: str = "MEDIUM_RISK") -> Modification:
    with capture(execute=True):
        return awaiting(workspace, level, patch_id=f"{level.lower()}-fix-1")


def _client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _post(client: Client, path: str, **data: str) -> Any:
    """Post the confirming form as the page rendered it (with its CSRF token)."""
    page = client.get(path)
    return client.post(path, {"csrfmiddlewaretoken": page.context["csrf_token"], **data})


def test_it_shows_the_patch_and_asks_without_deciding_on_get(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    client = _client(rita)
    for _ in range(3):  # a mail scanner, a preview, a reload: none of them decides
        page = client.get(path)
        assert page.status_code == 200
    html = page.content.decode()
    assert mod.patch_id in html and "MEDIUM_RISK" in html and "test rule for MEDIUM_RISK" in html
    assert "1 high, 1 low" in html and "+2 −1" in html
    assert f'href="/patches/{mod.pk}/"' in html and 'id="confirm-button"' in html
    assert page["Referrer-Policy"] == "same-origin"
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert not Approval.objects.exists()


def test_it_approves_on_the_confirming_post_once(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    client = _client(rita)
    with django_capture_on_commit_callbacks(execute=False):
        done = _post(client, path)
    assert done.status_code == 200
    assert f"{mod.patch_id} approved." in done.content.decode()
    mod.refresh_from_db()
    assert mod.status == "approved" and mod.approved_digest == mod.review_digest()
    # The same link again: refused plainly, nothing recorded twice.
    again = client.post(path, {"csrfmiddlewaretoken": done.context["csrf_token"]})
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert Approval.objects.filter(modification=mod).count() == 1


def test_it_refuses_a_post_without_the_csrf_token(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    assert _client(rita).post(path).status_code == 403
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


def test_it_refuses_an_expired_link(
    workspace: Any, rita: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    do_change_setting(admin_user, "notifications.action_link_ttl_s", 1, "short links")
    time.sleep(1.2)
    client = _client(rita)
    assert client.get(path).status_code == 410
    page = client.get(path)
    refused = _post(client, path)
    assert refused.status_code == 410 and "expired" in refused.content.decode()
    assert "expired" in page.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert ActionLink.objects.filter(used_at__isnull=False).count() == 0


def test_it_refuses_a_link_to_a_patch_that_changed(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    client = _client(rita)
    page = client.get(path)  # opened while it was still the patch the mail described
    # HEAD moved: re-validated, a new finding, held again (as the pipeline does it).
    with django_capture_on_commit_callbacks(execute=True):
        transition(mod, "validating", "system", "HEAD moved")
        mod.validation = {
            **mod.validation,
            "imports": {"findings": [{"severity": "high", "file": "app.py", "line": 1}]},
        }
        mod.save(update_fields=["validation"])
        transition(mod, "sandboxing", "system")
        transition(mod, "awaiting_approval", "system", "held again")
    shown = client.get(path)
    assert shown.status_code == 409 and "changed since this notice" in shown.content.decode()
    refused = client.post(path, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert refused.status_code == 409
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert not Approval.objects.exists()
    # The new notice's link is bound to the new version and works.
    fresh = link_in_mail(mail.outbox, RITA, "approve")
    assert fresh != path
    assert _post(client, fresh).status_code == 200
    assert Modification.objects.get(pk=mod.pk).status == "approved"


def test_it_says_so_when_the_patch_moved_on(
    workspace: Any,
    rita: Any,
    second_reviewer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    from approvals.actions import do_reject

    do_reject(mod, second_reviewer, "not this way")
    shown = _client(rita).get(path)
    assert shown.status_code == 409 and "rejected now" in shown.content.decode()
    assert not Approval.objects.filter(user=rita).exists()


def test_it_refuses_another_reviewer_and_sends_strangers_to_login(
    workspace: Any, rita: Any, second_reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    other = _client(second_reviewer)
    assert other.get(path).status_code == 403
    refused = _post(other, path)
    assert refused.status_code == 403 and "another reviewer" in refused.content.decode()
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=")
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"
    assert not Approval.objects.exists()
    assert ActionLink.objects.filter(used_at__isnull=False).count() == 0


def test_it_refuses_a_reviewer_who_lost_the_role(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks)
    path = link_in_mail(mail.outbox, RITA, "approve")
    client = _client(rita)
    page = client.get(path)
    # The identity provider dropped her from the reviewers' group (as its sign-in maps it).
    do_set_roles(rita, set(), actor="oidc", reason="left the reviewers group")
    refused = client.post(path, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert refused.status_code == 403 and "reviewer role" in refused.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


def test_it_asks_for_a_comment_where_the_level_needs_one_and_rejects(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mod = _held(workspace, django_capture_on_commit_callbacks, "HIGH_RISK")
    path = link_in_mail(mail.outbox, RITA, "reject")
    client = _client(rita)
    assert "required for a HIGH_RISK patch" in client.get(path).content.decode()
    missing = _post(client, path)
    assert missing.status_code == 400 and "comment is required" in missing.content.decode()
    # The refusal did not use the link up.
    done = _post(client, path, comment="Touches auth; not from a bot.")
    assert done.status_code == 200 and "rejected" in done.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "rejected"
    assert Approval.objects.get(modification=mod).comment == "Touches auth; not from a bot."


def test_it_answers_404_for_a_made_up_token(rita: Any) -> None:
    assert _client(rita).get("/patches/link/not-a-token/").status_code == 404


# Removes a line "-- old note": in the diff it reads "--- old note", like a file header.
SQL_DIFF = """\
diff --git a/schema.sql b/schema.sql
--- a/schema.sql
+++ b/schema.sql
@@ -1,2 +1,2 @@
 create table t (id int);
--- old note
+-- new note
"""
GIT_DIFF = (
    SQL_DIFF
    + """\
diff --git a/extra.sql b/extra.sql
--- a/extra.sql
+++ b/extra.sql
@@ -1 +1,2 @@
 select 1;
+select 2;
"""
)


def test_it_sizes_the_diff_the_review_page_shows_not_the_submitted_text(
    workspace: Any, rita: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.console_helpers import VALIDATION

    validation = {**VALIDATION, "diff": {"findings": [], "data": {"git_diff": GIT_DIFF}}}
    with django_capture_on_commit_callbacks(execute=True):
        awaiting(workspace, diff=SQL_DIFF, validation=validation, files=["schema.sql"])
    html = _client(rita).get(link_in_mail(mail.outbox, RITA, "approve")).content.decode()
    assert "<dd>2 files, +2 −1</dd>" in html, html
