from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models

from ..apply.gitops import GitError, git

DEFAULT_PROTECTED_PATHS = [
    ".git/**",
    ".github/**",
    "**/.gitattributes",
    ".gitmodules",
    "**/CODEOWNERS",
    "**/.pre-commit-config.yaml",
    ".gitlab-ci.yml",
    ".ci/**",
    ".circleci/**",
    "Jenkinsfile",
    ".env",
    ".env.*",
    "**/*.pem",
    "**/*.key",
    "**/secrets.*",
    "**/id_rsa*",
]


def default_protected_paths() -> list[str]:
    return list(DEFAULT_PROTECTED_PATHS)


def default_allowed_paths() -> list[str]:
    return ["**"]


def default_languages() -> list[str]:
    return ["python"]


# The files a setup command reads: their content (with the command and the interpreter) is the
# key of the environment, so a commit that changes none of them reuses the one built before.
DEFAULT_SETUP_INPUTS = [
    "requirements*.txt",
    "constraints*.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "composer.json",
    "composer.lock",
]


def default_setup_inputs() -> list[str]:
    return list(DEFAULT_SETUP_INPUTS)


class IsolationLevel(models.TextChoices):
    FULL = "full", "Full (bubblewrap)"
    PARTIAL = "partial", "Partial (resource limits)"
    NONE = "none", "None (direct, dangerous)"


def git_toplevel(path: Path) -> Path | None:
    """The work tree root if `path` is inside a git work tree, else None."""
    try:
        top = git(path, "rev-parse", "--show-toplevel", timeout=10).decode().strip()
    except (GitError, OSError, subprocess.TimeoutExpired):
        return None
    return Path(top).resolve()


def validate_git_worktree(value: str) -> None:
    path = Path(value)
    if not path.is_absolute():
        raise ValidationError(f"{value!r} is not an absolute path.")
    if not path.is_dir():
        raise ValidationError(f"{value!r} is not a directory.")
    top = git_toplevel(path)
    if top is None:
        raise ValidationError(f"{value!r} is not a git work tree.")
    if top != path.resolve():
        raise ValidationError(f"{value!r} is inside the git work tree {top}; register its root.")


def validate_interpreter(value: str) -> None:
    """Empty (Selfheal's own), or an absolute path to an executable."""
    import os

    if value and not (os.path.isabs(value) and os.access(value, os.X_OK)):
        raise ValidationError(f"{value!r} is not an executable absolute path.")


# --- remote workspaces (a remote URL instead of a path; see healing/remote/) ---
class Landing(models.TextChoices):
    PUSH = "push", "Push to the branch"
    PULL_REQUEST = "pull_request", "Open a pull request"
    BRANCH = "branch", "Push a branch only"


class Forge(models.TextChoices):
    NONE = "none", "None"
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    GITEA = "gitea", "Gitea / Forgejo"


def validate_remote_url(value: str) -> None:
    from ..remote.credentials import check_remote_url

    check_remote_url(value)


def validate_credentials_ref(value: str) -> None:
    from ..remote.credentials import check_reference

    check_reference(value)


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def active(self) -> WorkspaceQuerySet:
        return self.filter(is_active=True)


class Workspace(models.Model):
    """A git repository on disk that the engine guards."""

    name = models.SlugField(max_length=64, unique=True)
    path = models.CharField(max_length=1024, blank=True, validators=[validate_git_worktree])
    branch = models.CharField(max_length=255, default="main")
    remote_url = models.CharField(
        max_length=1024,
        blank=True,
        validators=[validate_remote_url],
        help_text="A URL git fetches from and pushes to, instead of a path. No credentials in it.",
    )
    landing = models.CharField(max_length=16, choices=Landing.choices, default=Landing.PUSH)
    credentials_env = models.CharField(
        max_length=1024,
        blank=True,
        validators=[validate_credentials_ref],
        help_text="Where the workers find the token or SSH key: ENV_NAME or file:/absolute/path.",
    )
    forge = models.CharField(max_length=16, choices=Forge.choices, default=Forge.NONE)
    forge_api = models.URLField(max_length=1024, blank=True)
    forge_repo = models.CharField(max_length=255, blank=True, help_text="OWNER/NAME on the forge.")
    webhook_secret_env = models.CharField(
        max_length=1024,
        blank=True,
        validators=[validate_credentials_ref],
        help_text="Where the web servers find this workspace's forge webhook secret: ENV_NAME or "
        "file:/absolute/path. Empty: webhooks are refused and beat's poll settles requests.",
    )
    test_command = models.CharField(max_length=1024, default="python -m pytest -q")
    setup_command = models.CharField(
        max_length=1024,
        blank=True,
        default="",
        help_text="Installs the project's dependencies into its environment (e.g. "
        "'python -m pip install -r requirements.txt'). Empty: no environment of its own.",
    )
    setup_inputs = models.JSONField(
        default=default_setup_inputs,
        blank=True,
        help_text="Glob patterns (from the repository root) of the files the setup command reads.",
    )
    interpreter = models.CharField(
        max_length=1024,
        blank=True,
        default="",
        validators=[validate_interpreter],
        help_text="The Python the environment's virtualenv is made from. Empty: Selfheal's own.",
    )
    languages = models.JSONField(default=default_languages, blank=True)
    allowed_paths = models.JSONField(default=default_allowed_paths, blank=True)
    protected_paths = models.JSONField(default=default_protected_paths, blank=True)
    import_allowlist = models.JSONField(default=list, blank=True)
    import_denylist = models.JSONField(default=list, blank=True)
    policy_overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text="Tunable key → value, overriding the global setting here.",
    )
    isolation_level = models.CharField(
        max_length=16, choices=IsolationLevel.choices, default=IsolationLevel.FULL
    )
    allow_binary = models.BooleanField(default=False)
    is_self = models.BooleanField(
        default=False, help_text="This workspace holds the engine's own code (self-modification)."
    )
    is_demo = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if bool(self.path) == bool(self.remote_url):
            raise ValidationError("Give exactly one of path and remote_url.")
        needs_forge = self.remote_url and self.landing == Landing.PULL_REQUEST
        if needs_forge and (self.forge == Forge.NONE or not self.forge_repo):
            raise ValidationError("pull_request landing needs a forge and forge_repo.")

    @property
    def is_remote(self) -> bool:
        return bool(self.remote_url)

    @property
    def repo_path(self) -> Path:
        """Where the git objects are read on this host: the work tree, or this worker's mirror."""
        if self.remote_url:
            from ..remote.mirror import mirror_path

            return mirror_path(self)
        return Path(self.path)

    def is_protected(self, relpath: str) -> bool:
        """Protected paths never change through a patch; `.git/` always is. Case-insensitive:
        a case-folding checkout or CI reads `.GitHub/Workflows` as `.github/workflows`."""
        folded = relpath.casefold()
        patterns = [p.casefold() for p in [".git/**", *self.protected_paths]]
        return folded == ".git" or folded.startswith(".git/") or _matches_any(folded, patterns)

    def is_allowed(self, relpath: str) -> bool:
        return _matches_any(relpath, self.allowed_paths or ["**"])

    def head_commit(self) -> str:
        if self.remote_url:
            from ..remote.mirror import refresh

            return refresh(self)  # fetched first: another host may have pushed
        return git(self.path, "rev-parse", "HEAD", timeout=10).decode().strip()


def _matches_any(relpath: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(relpath, pattern):
            return True
        # "dir/**" also matches "dir" itself and "**/x" matches "x" at the top.
        if pattern.endswith("/**") and (
            relpath == pattern[:-3] or relpath.startswith(pattern[:-2])
        ):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(relpath, pattern[3:]):
            return True
    return False
