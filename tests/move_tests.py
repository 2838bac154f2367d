"""Move every tests/test_*.py into the folder of the app it tests, and fix what the move breaks.

    .venv/bin/python -m tests.move_tests [--dry-run]

Folders: healing/ (the core), monitoring/, console/ (the `approvals` app), selfdebug/
(self-debugging, the diagnostics) and system/ (what crosses the apps: the import direction, who
may reach what, end to end, browsers, failing services, deployment checks). A file is placed by
TABLE below; a file the table does not name is placed by its name and its imports (see
`classify`) and printed as "classified by rule", to be checked and added to the table.

Besides `git mv`, the script rewrites:
- references to a moved module anywhere in the repository: `tests.test_x` (imports, `-m`) and
  `tests/test_x.py` (paths, docs, globs such as `tests/test_x_*.py` when they stay in one folder);
- in each file it moves, paths computed from its own location (`Path(__file__).parent`, and
  `os.path.dirname(__file__)`), which are one folder deeper afterwards.
Helpers (factories.py, *_helpers.py, harness scripts, corpus/, buggy_programs/, oidc_provider/,
conftest.py) stay in tests/. The edited Python files are import-sorted and formatted with ruff;
everything is staged, nothing committed. Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

FOLDERS = {
    "healing": "Tests of the healing app: intake, validation, sandbox, judgement, apply, breakers.",
    "monitoring": "Tests of the monitoring app: telemetry, health, the healing loop, its console.",
    "console": "Tests of the console (the approvals app): review, approvals, notifications, pages.",
    "selfdebug": "Tests of self-debugging: runs, patterns, fixes, search, generated tests.",
    "system": "Tests across the apps: import direction, authorization, end to end, browsers.",
}

_TABLE_BY_FOLDER: dict[str, tuple[str, ...]] = {
    "healing": (
        "test_account_actions",
        "test_add_workspace_remote",
        "test_api_tokens",
        "test_apply_action",
        "test_apply_crash_recovery",
        "test_apply_crash_trials",
        "test_apply_modification_task",
        "test_backups_view",
        "test_breaker_processes",
        "test_breakers_api",
        "test_calibration",
        "test_cancel_action",
        "test_cascades",
        "test_change_setting_action",
        "test_confidence_model",
        "test_containment",
        "test_dual_breaker",
        "test_emergency_stop_under_load",
        "test_engine_breaker",
        "test_engine_breaker_model",
        "test_envelope_targets",
        "test_environment_builds",
        "test_healthz_view",
        "test_intake_commands",
        "test_intake_corpus",
        "test_json_depth_parser",
        "test_login_required_middleware",
        "test_login_view",
        "test_modification_admin",
        "test_oidc_authenticate_view",
        "test_oidc_callback_view",
        "test_oidc_config",
        "test_patch_id_per_agent",
        "test_patch_rollback_view",
        "test_patches_api",
        "test_patches_api_properties",
        "test_policy",
        "test_preflight",
        "test_process_modification_task",
        "test_queueing",
        "test_real_project_leftpad",
        "test_real_project_slugify",
        "test_recover_applies_command",
        "test_refit_calibration_task",
        "test_remote_apply_action",
        "test_remote_crash_recovery",
        "test_remote_credentials",
        "test_remote_pull_requests",
        "test_requeue_stalled_action",
        "test_rollback_action",
        "test_sandbox_capabilities",
        "test_sandbox_confinement",
        "test_sandbox_emergency_stop",
        "test_sandbox_modification_task",
        "test_sandbox_run_tests",
        "test_sandbox_scratch",
        "test_sandbox_untrusted_reports",
        "test_sandbox_verdict",
        "test_score_modification",
        "test_service_unavailable_middleware",
        "test_setup_commands",
        "test_task_time_limits",
        "test_token_actions",
        "test_tokens_migration",
        "test_tokens_view",
        "test_transition_action",
        "test_two_engines",
        "test_unblock_action",
        "test_unblock_processes",
        "test_validation_danger_evasions",
        "test_validation_git_reading",
        "test_validation_harness_tampering",
        "test_validation_imports",
        "test_validation_line_numbers",
        "test_validation_paths",
        "test_validation_pipeline",
        "test_validation_time_limit",
        "test_validation_unicode",
        "test_workspace_environments_api",
        "test_workspaces_api",
    ),
    "monitoring": (
        "test_loop_buttons_view",
        "test_monitoring_attempts_api",
        "test_monitoring_console_view",
        "test_monitoring_degradation_api",
        "test_monitoring_engine_api",
        "test_monitoring_fitness_action",
        "test_monitoring_healing_loop",
        "test_monitoring_history",
        "test_monitoring_metrics_view",
        "test_monitoring_rolling_window",
        "test_monitoring_snapshots_api",
        "test_monitoring_strategies",
        "test_monitoring_system_snapshot_task",
        "test_monitoring_system_snapshot_worker",
    ),
    "console": (
        "test_action_link_view",
        "test_approval_actions",
        "test_approval_api",
        "test_approval_digest",
        "test_audit_view",
        "test_breaker_broadcast",
        "test_breaker_buttons_view",
        "test_chat_callback_view",
        "test_chat_identity_admin",
        "test_dashboard_view",
        "test_diffview",
        "test_engine_api",
        "test_engine_views",
        "test_environment_console",
        "test_live_consumer",
        "test_notification_threads",
        "test_notifications_task",
        "test_review_view",
        "test_thresholds_view",
        "test_two_person_rule",
        "test_workspaces_view",
    ),
    "selfdebug": (
        "test_diagnostics_bug_fix_api",
        "test_diagnostics_containment",
        "test_diagnostics_corpus",
        "test_diagnostics_fix_templates",
        "test_diagnostics_generators",
        "test_diagnostics_isolation",
        "test_diagnostics_junit",
        "test_diagnostics_logger",
        "test_diagnostics_pages",
        "test_diagnostics_patterns",
        "test_diagnostics_run_task",
        "test_diagnostics_runners",
        "test_diagnostics_runs_api",
        "test_diagnostics_sandbox_only",
        "test_diagnostics_schedule_task",
        "test_diagnostics_search",
        "test_diagnostics_testgen",
    ),
    "system": (
        "test_action_link_browser",
        "test_agent_lanes",  # one rule over healing's and monitoring's APIs, as the matrix
        "test_api_fuzz",
        "test_authorization_matrix",
        "test_breaker_buttons_browser",
        "test_client_cli",  # the separate client package against the server
        "test_concurrency_rounds",
        "test_console_browser",
        "test_content_security_policy",
        "test_deploy_check",
        "test_health_source",  # healing's registry as monitoring fills it
        "test_import_direction",
        "test_writes_only_in_actions",  # the action layer of every app
        "test_launcher",
        "test_oidc_browser",
        "test_pipeline_end_to_end",
        "test_remote_end_to_end",
        "test_service_banner",  # base.html, on every page
        "test_services_failing",
        "test_services_failing_load",
        "test_wiring",
    ),
}

TABLE: dict[str, str] = {
    stem: folder for folder, stems in _TABLE_BY_FOLDER.items() for stem in stems
}
assert len(TABLE) == sum(map(len, _TABLE_BY_FOLDER.values())), "a file named in two folders"

# Text files whose references to tests are rewritten. The corpora are workspaces' files: their
# `tests/test_*.py` name the workspaces' own tests, never ours.
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".sh"}
TEXT_NAMES = {"Makefile", "run"}
DATA_DIRS = ("tests/corpus/", "tests/buggy_programs/")


@dataclass(frozen=True)
class Move:
    source: Path
    folder: str
    reason: str  # "" when the table names the file

    @property
    def target(self) -> Path:
        return TESTS / self.folder / self.source.name


def _imported_modules(path: Path) -> set[str]:
    """Every module the file imports, also inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def classify(path: Path, placed: dict[str, str] | None = None) -> tuple[str, str]:
    """(folder, reason) for a test file; the reason is empty when the table names it.
    `placed`: stem → folder of the tests already placed (default: the table)."""
    stem = path.stem
    if stem in TABLE:
        return TABLE[stem], ""
    known = placed if placed is not None else TABLE
    if stem.endswith(("_browser", "_end_to_end")):
        return "system", "a browser or end-to-end test"
    if stem.startswith("test_diag") or "diagnostic" in stem or "selfdebug" in stem:
        return "selfdebug", "named for diagnostics"
    modules = _imported_modules(path)
    harness = {known[m.split(".")[-1]] for m in modules if m.split(".")[-1] in known}
    if len(harness) == 1:
        return harness.pop(), "imports a test module there"
    word = stem.split("_")[1] if stem.count("_") > 1 else ""
    namesakes = [f for s, f in known.items() if word and s.startswith(f"test_{word}_")]
    if len(namesakes) > 1 and len(set(namesakes)) == 1:
        return namesakes[0], f"named like the test_{word}_* there"

    def imports(package: str) -> bool:
        return any(m == package or m.startswith(package + ".") for m in modules)

    if imports("approvals"):
        return "console", "imports approvals"
    if imports("monitoring"):
        return "monitoring", "imports monitoring"
    if imports("selfdebug") or imports("healing.diagnostics"):
        return "selfdebug", "imports the diagnostics"
    return "healing", "imports neither approvals, monitoring nor the diagnostics"


def plan() -> list[Move]:
    placed = TABLE | placed_tests()
    moves = []
    for source in sorted(TESTS.glob("test_*.py")):
        folder, reason = classify(source, placed)
        moves.append(Move(source, folder, reason))
    return moves


def placed_tests() -> dict[str, str]:
    """stem → folder of the test files already in a folder."""
    return {p.stem: p.parent.name for f in FOLDERS for p in (TESTS / f).glob("test_*.py")}


_FILE = r"(?:os\.path\.(?:abspath|realpath)\(__file__\)|__file__)"
_PATH_OF_FILE = r"Path\(__file__\)(?:\.resolve\(\)|\.absolute\(\))?"


def _one_more_parent(match: re.Match[str]) -> str:
    return f"{match[1]}.parents[{int(match[2]) + 1}]"


def _one_more_in_chain(match: re.Match[str]) -> str:
    """`.parent` becomes `.parent.parent`; a longer chain `.parents[n]`, to stay as short."""
    levels = match[2].count(".parent") + 1
    return f"{match[1]}.parent.parent" if levels == 2 else f"{match[1]}.parents[{levels - 1}]"


_DEEPEN: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # `.parents[n]` first: the chain's rewrite may write one.
    (re.compile(rf"({_PATH_OF_FILE})\.parents\[(\d+)\]"), _one_more_parent),
    (re.compile(rf"({_PATH_OF_FILE})((?:\.parent(?![s\w]))+)"), _one_more_in_chain),
    (re.compile(rf"os\.path\.dirname\(({_FILE})\)"), r"os.path.dirname(os.path.dirname(\1))"),
]
_HANDLED = re.compile(
    rf"{_PATH_OF_FILE}\.parents?\b|os\.path\.dirname\({_FILE}\)"
    rf"|{_PATH_OF_FILE}(?![.\w])"  # the file itself
)
_RELATIVE = re.compile(r"^\s*from \.|^\s*from tests import test_")


def deepen(text: str) -> str:
    """Paths a moved file computes from its own location, one folder deeper."""
    for pattern, replacement in _DEEPEN:
        text = pattern.sub(replacement, text)
    return text


def needs_a_look(line: str) -> bool:
    """A line of a moved file that may depend on where the file is, in a way not rewritten."""
    return "__file__" in _HANDLED.sub("", line) or bool(_RELATIVE.search(line))


# tests.test_x (a module) or tests/test_x.py (a path, a glob); not inside a longer path or name.
_REFERENCE = re.compile(r"(?<![\w./-])tests([./])(test_[\w*]+)(?!\w)")


def rewrite_references(text: str, folders: dict[str, str]) -> tuple[str, list[str]]:
    """The text with references to moved test modules pointing at their folder; and warnings."""
    warnings: list[str] = []

    def replace(match: re.Match[str]) -> str:
        separator, name = match[1], match[2]
        if "*" in name:
            matched = {folders[s] for s in folders if fnmatch.fnmatchcase(s, name)}
            if len(matched) != 1:
                if matched and name != "test_*":  # test_* means any test, not a folder's
                    warnings.append(f"glob {match[0]} spans folders {sorted(matched)}")
                return match[0]
            (folder,) = matched
        elif name in folders:
            folder = folders[name]
        else:
            return match[0]
        return f"tests{separator}{folder}{separator}{name}"

    return _REFERENCE.sub(replace, text), warnings


def repository_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    files = []
    for name in listed:
        path = ROOT / name
        if not name or path == Path(__file__).resolve() or not path.is_file():
            continue
        if name.startswith(DATA_DIRS) and not name.endswith(".md"):
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            files.append(path)
    return files


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def is_tracked(path: Path) -> bool:
    return (
        subprocess.run(
            ["git", "ls-files", "--error-unmatch", str(path)],
            cwd=ROOT,
            capture_output=True,
        ).returncode
        == 0
    )


def tidy(paths: list[Path]) -> None:
    """Longer module names reorder imports and lengthen lines: sort and format as `make lint`
    expects, in the files edited only."""
    if paths:
        names = [str(p) for p in paths]
        ruff = [sys.executable, "-m", "ruff"]
        subprocess.run([*ruff, "check", "--select", "I", "--fix", "--quiet", *names], cwd=ROOT)
        subprocess.run([*ruff, "format", "--quiet", *names], cwd=ROOT, check=True)


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change; change nothing"
    )
    dry_run = parser.parse_args(argv).dry_run

    moves = plan()
    placed = placed_tests()
    clashes = [m for m in moves if m.target.exists() or m.source.stem in placed]
    if clashes:
        for m in clashes:
            print(f"error: {_show(m.source)}: a test of that name is already in a folder")
        return 1
    folders = placed | {m.source.stem: m.folder for m in moves}
    missing = sorted(set(TABLE) - set(folders))
    for stem in missing:
        print(f"note: the table names {stem}, which is nowhere now (renamed or deleted?)")

    for m in moves:
        how = f"classified by rule: {m.reason}" if m.reason else "table"
        print(f"move  {_show(m.source)} -> {_show(m.target)}  ({how})")

    # New contents, by the path each file has after the move.
    moved_from = {m.source: m.target for m in moves}
    edits: dict[Path, tuple[str, str]] = {}
    warnings: list[str] = []
    for path in repository_text_files():
        before = path.read_text()
        after = before
        if path in moved_from:
            after = deepen(after)
            for number, line in enumerate(after.splitlines(), 1):
                if needs_a_look(line):
                    where = f"{_show(moved_from[path])}:{number}"
                    warnings.append(f"{where}: check by hand: {line.strip()}")
        after, found = rewrite_references(after, folders)
        warnings += [f"{_show(path)}: {w}" for w in found]
        if after != before:
            edits[moved_from.get(path, path)] = (before, after)

    for path, (before, after) in sorted(edits.items()):
        changed = [
            (old, new)
            for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
            if old != new
        ]
        print(f"edit  {_show(path)}: {len(changed)} line(s)")
        if dry_run:
            for old, new in changed:
                print(f"        - {old.strip()}\n        + {new.strip()}")
    for warning in warnings:
        print(f"warning: {warning}")

    if not moves and not edits:
        print("nothing to do: every test is in its folder and every reference points there")
        return 0
    if dry_run:
        return 0

    for folder in sorted({m.folder for m in moves}):
        package = TESTS / folder / "__init__.py"
        if not package.exists():
            package.parent.mkdir(exist_ok=True)
            package.write_text(f'"""{FOLDERS[folder]}"""\n')
            git("add", str(package))
    for m in moves:
        if is_tracked(m.source):
            git("mv", str(m.source), str(m.target))
        else:
            m.source.rename(m.target)
    for path, (_, after) in edits.items():
        path.write_text(after)
    tidy([p for p in edits if p.suffix == ".py"])
    git("add", *(str(p) for p in [*edits, *(m.target for m in moves)]))
    print(f"moved {len(moves)} file(s), edited {len(edits)}; staged, not committed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
