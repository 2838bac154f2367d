"""`selfheal submit` and `selfheal status`: the decision as text (or JSON) and as the exit code.

Exit codes: 0 applied (or, without --wait, accepted), 10 awaiting approval, 20 rejected
(also cancelled, failed, rolled back), 30 blocked, 3 no decision yet (--wait ran out of time, or
`status` of a patch still in progress), 2 usage, network or authentication errors and any
refusal by the server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from . import __version__
from .client import (
    ERROR_TYPES,
    LANGUAGES,
    SEVERITIES,
    ApiError,
    Patch,
    SelfhealClient,
    SelfhealError,
    UsageError,
    WaitTimeout,
)

APPLIED, AWAITING_APPROVAL, REJECTED, BLOCKED = 0, 10, 20, 30
ERROR, UNDECIDED = 2, 3
EXIT_CODES = {
    "applied": APPLIED,
    "awaiting_approval": AWAITING_APPROVAL,
    "rejected": REJECTED,
    "cancelled": REJECTED,
    "failed": REJECTED,
    "rolled_back": REJECTED,
    "blocked": BLOCKED,
}
SHOWN_FINDINGS = 5
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def exit_code(patch: Patch) -> int:
    return EXIT_CODES.get(patch.status, UNDECIDED)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("SELFHEAL_URL", ""),
        help="The Selfheal server, e.g. https://selfheal.example.org (default: $SELFHEAL_URL).",
    )
    common.add_argument(
        "--token",
        default=os.environ.get("SELFHEAL_TOKEN", ""),
        help="An API token with the agent role (default: $SELFHEAL_TOKEN; prefer the "
        "variable in CI, so the token never shows in a process list or a log).",
    )
    common.add_argument("--json", action="store_true", help="Print the state as one JSON object.")

    parser = argparse.ArgumentParser(
        prog="selfheal",
        description="Submit a patch to Selfheal and get its decision.",
        epilog="Exit codes: 0 applied, 10 awaiting approval, 20 rejected (or cancelled, failed, "
        "rolled back), 30 blocked, 3 no decision yet, 2 errors.",
    )
    parser.add_argument("--version", action="version", version=f"selfheal-client {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit", parents=[common], help="Submit a unified diff (POST /api/v1/patches/)."
    )
    submit.add_argument("diff", help="A unified diff file; '-' reads standard input.")
    submit.add_argument("--workspace", required=True, help="The workspace the diff applies to.")
    submit.add_argument(
        "--wait", action="store_true", help="Wait for the decision and exit with its code."
    )
    submit.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="Seconds --wait waits before giving up with exit code 3 (default 600).",
    )
    submit.add_argument("--patch-id", help="Your unique id for the patch (default: random).")
    submit.add_argument(
        "--language", choices=LANGUAGES, help="Default: from the diff's file names."
    )
    submit.add_argument("--error-type", choices=ERROR_TYPES, default="logic")
    submit.add_argument("--severity", choices=SEVERITIES, default="medium")
    submit.add_argument("--message", help="The error the patch fixes (error_message).")
    submit.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="TEST",
        help="A failing test the patch is meant to fix, e.g. tests/test_x.py::test_y "
        "(repeatable; error_classification.targets).",
    )
    submit.add_argument(
        "--logits",
        type=_logits,
        metavar="X,Y,…",
        help="The fixing model's logits, comma-separated, e.g. 2.1,0.4,0.2.",
    )
    submit.add_argument(
        "--confidence", type=float, metavar="P", help="Your confidence in the fix, 0 to 1."
    )
    submit.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Free-form metadata, e.g. job_url=$CI_JOB_URL (repeatable).",
    )

    status = commands.add_parser(
        "status", parents=[common], help="Print a patch's current state (GET /api/v1/patches/ID/)."
    )
    status.add_argument("id", type=int, help="The patch's number, as `submit` printed it.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except WaitTimeout as exc:
        _show(exc.patch, args.json)
        _say(f"selfheal: {exc}")
        return UNDECIDED
    except ApiError as exc:
        _say(f"selfheal: the server refused the request: {exc.describe()}")
        return ERROR
    except SelfhealError as exc:
        _say(f"selfheal: {exc}")
        return ERROR


def _run(args: argparse.Namespace) -> int:
    if (
        args.url
        and urlsplit(args.url).scheme == "http"
        and urlsplit(args.url).hostname not in LOOPBACK
    ):
        _say(f"selfheal: warning: the token travels unencrypted to {args.url}; use https://")
    if args.command == "submit" and args.timeout < 0:
        raise UsageError("--timeout must be 0 or more seconds.")
    with SelfhealClient(args.url, args.token) as client:
        if args.command == "status":
            patch = client.status(args.id)
            _show(patch, args.json)
            return exit_code(patch)
        patch = client.submit(
            _read(args.diff),
            workspace=args.workspace,
            language=args.language,
            patch_id=args.patch_id,
            error_type=args.error_type,
            severity=args.severity,
            message=args.message,
            targets=args.target,
            logits=args.logits,
            confidence=_confidence(args.confidence),
            metadata=_metadata(args.metadata),
        )
        if not args.wait:
            _show(patch, args.json)
            if not args.json:
                _say(f"selfheal: accepted; follow it with: selfheal status {patch.id}")
            return APPLIED
        if not args.json:
            _say(f"selfheal: patch {patch.id} accepted; waiting up to {args.timeout:g} s")
        patch = client.wait(patch.id, timeout=args.timeout)
        _show(patch, args.json)
        return exit_code(patch)


def _read(name: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {name}: {exc.strerror}.") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"{'Standard input' if name == '-' else name} is not UTF-8 text."
        ) from None


def _logits(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"want numbers separated by commas, not {text!r}"
        ) from None


def _confidence(value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 1:
        raise UsageError(f"--confidence must be between 0 and 1, not {value:g}.")
    return value


def _metadata(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--metadata wants KEY=VALUE, not {pair!r}.")
        found[key] = value
    return found


def _show(patch: Patch, as_json: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        out.write(json.dumps({**patch.as_json(), "exit_code": exit_code(patch)}, indent=2) + "\n")
        return
    lines = [f"patch {patch.id} ({patch.patch_id}): {patch.status}"]
    if patch.safety_level:
        rule = f" ({patch.safety_rule})" if patch.safety_rule else ""
        lines.append(f"  safety level: {patch.safety_level}{rule}")
    if patch.reason:
        lines.append(f"  reason: {patch.reason}")
    if patch.status != "applied":
        lines += [f"  finding: {_finding(f)}" for f in _worst(patch.findings)]
    lines.append(f"  review: {patch.review_url}")
    out.write("\n".join(lines) + "\n")


def _worst(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings a person would read first: blocking or high and above (the server sorts)."""
    serious = [
        f for f in findings if f.get("blocking") or f.get("severity") in {"high", "critical"}
    ]
    return serious[:SHOWN_FINDINGS]


def _finding(f: dict[str, Any]) -> str:
    where = f.get("file") or ""
    if where and f.get("line"):
        where += f":{f['line']}"
    blocking = ", blocking" if f.get("blocking") else ""
    head = f"[{f.get('severity', '?')}{blocking}] {f.get('rule', '')}"
    return f"{head} {where}: {f.get('message', '')}" if where else f"{head}: {f.get('message', '')}"


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
