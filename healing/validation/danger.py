"""Dangerous patterns, on syntax trees: only code the patch adds is judged.

Calls are recognised by their resolved names in the tree (so a comment or a docstring that says
"os.system" is not a hit); string literals are scanned for shell and SQL destruction; added lines
of every file are scanned for private keys and tokens. Files without a grammar (shell scripts, SQL,
YAML) fall back to a scan of their added lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from .base import FileChange, Finding, Stage, ValidationContext, register
from .grammars import text as node_text
from .grammars import walk
from .pyindex import PyIndex, index_for

# --- what is dangerous --------------------------------------------------------------------

PY_CALLS: dict[str, tuple[str, str, str]] = {
    # dotted name → (severity, rule, message)
    "eval": ("high", "danger.eval", "eval() runs arbitrary code"),
    "exec": ("high", "danger.exec", "exec() runs arbitrary code"),
    "compile": ("medium", "danger.compile", "compile() of dynamic code"),
    "__import__": ("medium", "danger.dynamic_import", "__import__() of a dynamic module"),
    "os.system": ("high", "danger.os_system", "os.system() runs a shell command"),
    "os.popen": ("high", "danger.os_system", "os.popen() runs a shell command"),
    "os.execv": ("high", "danger.exec_process", "replaces the process"),
    "os.execl": ("high", "danger.exec_process", "replaces the process"),
    "pty.spawn": ("high", "danger.exec_process", "spawns a shell"),
    "pickle.loads": ("high", "danger.deserialize", "pickle.loads() of data can run code"),
    "pickle.load": ("high", "danger.deserialize", "pickle.load() of data can run code"),
    "cPickle.loads": ("high", "danger.deserialize", "pickle loads of data can run code"),
    "marshal.loads": ("high", "danger.deserialize", "marshal.loads() of untrusted data"),
    "marshal.load": ("high", "danger.deserialize", "marshal.load() of untrusted data"),
    "dill.loads": ("high", "danger.deserialize", "dill.loads() of data can run code"),
    "shelve.open": ("medium", "danger.deserialize", "shelve unpickles its values"),
    "shutil.rmtree": ("medium", "danger.rmtree", "deletes a directory tree"),
    "requests.get": ("medium", "danger.network", "new network call"),
    "requests.post": ("medium", "danger.network", "new network call"),
    "requests.put": ("medium", "danger.network", "new network call"),
    "requests.delete": ("medium", "danger.network", "new network call"),
    "requests.request": ("medium", "danger.network", "new network call"),
    "httpx.get": ("medium", "danger.network", "new network call"),
    "httpx.post": ("medium", "danger.network", "new network call"),
    "httpx.Client": ("medium", "danger.network", "new network client"),
    "urllib.request.urlopen": ("medium", "danger.network", "new network call"),
    "urlopen": ("medium", "danger.network", "new network call"),
    "socket.socket": ("medium", "danger.network", "opens a socket"),
    "socket.create_connection": ("medium", "danger.network", "opens a connection"),
    "http.client.HTTPConnection": ("medium", "danger.network", "opens an HTTP connection"),
    "http.client.HTTPSConnection": ("medium", "danger.network", "opens an HTTPS connection"),
    "ftplib.FTP": ("medium", "danger.network", "opens an FTP connection"),
    "smtplib.SMTP": ("medium", "danger.network", "opens an SMTP connection"),
    "aiohttp.ClientSession": ("medium", "danger.network", "new network client"),
}
PY_SUBPROCESS = {
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
}
PY_WRITE_CALLS = {
    "open",
    "io.open",
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.rename",
    "os.chmod",
    "shutil.rmtree",
    "shutil.move",
    "shutil.copy",
    "shutil.copyfile",
}

JS_CALLS: dict[str, tuple[str, str, str]] = {
    "eval": ("high", "danger.eval", "eval() runs arbitrary code"),
    "Function": ("high", "danger.eval", "new Function() runs arbitrary code"),
    "setTimeout:string": ("medium", "danger.eval", "setTimeout with a string runs code"),
    "exec": ("high", "danger.os_system", "exec() runs a shell command"),
    "execSync": ("high", "danger.os_system", "execSync() runs a shell command"),
    "child_process.exec": ("high", "danger.os_system", "child_process.exec() runs a shell command"),
    "child_process.execSync": ("high", "danger.os_system", "runs a shell command"),
    "vm.runInNewContext": ("high", "danger.eval", "runs arbitrary code"),
    "vm.runInThisContext": ("high", "danger.eval", "runs arbitrary code"),
    "fetch": ("medium", "danger.network", "new network call"),
    "XMLHttpRequest": ("medium", "danger.network", "new network call"),
    "WebSocket": ("medium", "danger.network", "opens a websocket"),
    "axios": ("medium", "danger.network", "new network call"),
    "axios.get": ("medium", "danger.network", "new network call"),
    "axios.post": ("medium", "danger.network", "new network call"),
    "http.request": ("medium", "danger.network", "new network call"),
    "http.get": ("medium", "danger.network", "new network call"),
    "https.request": ("medium", "danger.network", "new network call"),
    "https.get": ("medium", "danger.network", "new network call"),
    "net.connect": ("medium", "danger.network", "opens a socket"),
    "net.createConnection": ("medium", "danger.network", "opens a socket"),
}
JS_WRITE_CALLS = {
    "fs.writeFileSync",
    "fs.writeFile",
    "fs.appendFileSync",
    "fs.appendFile",
    "fs.rmSync",
    "fs.rm",
    "fs.unlinkSync",
    "fs.unlink",
    "fs.rmdirSync",
    "fs.promises.writeFile",
    "fs.promises.rm",
}

PHP_CALLS: dict[str, tuple[str, str, str]] = {
    "eval": ("high", "danger.eval", "eval() runs arbitrary code"),
    "assert": ("medium", "danger.eval", "assert() with a string runs code in old PHP"),
    "create_function": ("high", "danger.eval", "create_function() runs arbitrary code"),
    "system": ("high", "danger.os_system", "system() runs a shell command"),
    "exec": ("high", "danger.os_system", "exec() runs a shell command"),
    "shell_exec": ("high", "danger.os_system", "shell_exec() runs a shell command"),
    "passthru": ("high", "danger.os_system", "passthru() runs a shell command"),
    "popen": ("high", "danger.os_system", "popen() runs a shell command"),
    "proc_open": ("high", "danger.os_system", "proc_open() runs a shell command"),
    "pcntl_exec": ("high", "danger.exec_process", "replaces the process"),
    "unserialize": ("high", "danger.deserialize", "unserialize() of data can run code"),
    "curl_exec": ("medium", "danger.network", "new network call"),
    "fsockopen": ("medium", "danger.network", "opens a socket"),
    "stream_socket_client": ("medium", "danger.network", "opens a socket"),
}
PHP_WRITE_CALLS = {"file_put_contents", "fopen", "unlink", "rmdir", "rename", "chmod", "copy"}

RM_RF = re.compile(
    r"\brm\s+(?:-[a-zA-Z]*r[a-zA-Z]*f[a-zA-Z]*|-[a-zA-Z]*f[a-zA-Z]*r[a-zA-Z]*|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b(?P<rest>[^;&|\n]*)"
)
RM_RF_ROOTS = re.compile(
    r"^\s*(?:--no-preserve-root\s+)?(?:/|/\*|~|~/|\$HOME|\$\{HOME\}|\*|\.|\./\*|/home\b|/etc\b|/usr\b|/var\b|/boot\b|/root\b)\s*(?:$|[\s'\"`])"
)
SQL_DESTROY = re.compile(
    r"\b(?:DROP\s+(?:TABLE|DATABASE|SCHEMA|VIEW|INDEX)|TRUNCATE\s+(?:TABLE\s+)?[\w`\"\[])",
    re.IGNORECASE,
)
SQL_DELETE_ALL = re.compile(r"\bDELETE\s+FROM\s+[\w`\"\[\].]+\s*(?:;|$)", re.IGNORECASE)

SECRETS: list[tuple[re.Pattern[str], str, str, bool]] = [
    # pattern, severity, what, blocking
    (
        re.compile(
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
        ),
        "critical",
        "a private key",
        True,
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "critical", "an AWS access key id", True),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "critical", "a GitHub token", True),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{60,}\b"), "critical", "a GitHub token", True),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "critical", "a Slack token", True),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "critical", "a Google API key", True),
    (re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"), "critical", "a Stripe live key", True),
    (re.compile(r"\bglpat-[0-9A-Za-z_\-]{20,}\b"), "critical", "a GitLab token", True),
    (re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b"), "critical", "an API secret key", True),
    (
        re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        "high",
        "a JSON web token",
        False,
    ),
    (
        re.compile(
            r"(?i)\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|password|passwd)\b[\"']?\s*[:=]\s*[\"'][^\"'\s]{12,}[\"']"
        ),
        "high",
        "a hard-coded credential",
        False,
    ),
]


# Names that make a Python statement worth walking: every part of a dangerous dotted name.
PY_TRIGGER_WORDS = frozenset(
    part
    for name in [*PY_CALLS, *PY_SUBPROCESS, *PY_WRITE_CALLS, "yaml.load", "yaml.load_all", "shell"]
    for part in name.split(".")
) | frozenset({"write_text", "write_bytes", "unlink", "rmdir", "Path"})

# A cheap first look: most strings mention none of the words the real patterns need.
RISKY_TEXT = re.compile(r"(?i)\brm\s|drop\s|truncate\s|delete\s")


def scan_string(value: str, file: str, line: int, column: int | None) -> list[Finding]:
    findings = []
    for match in RM_RF.finditer(value):
        root = RM_RF_ROOTS.match(match["rest"])
        findings.append(
            Finding(
                "critical" if root else "high",
                f"recursive forced delete: {match.group(0).strip()[:80]!r}",
                "danger.rm_rf",
                file=file,
                line=line,
                column=column,
                blocking=bool(root),
            )
        )
    if SQL_DESTROY.search(value):
        findings.append(
            Finding(
                "high",
                f"destructive SQL: {value.strip()[:80]!r}",
                "danger.sql_destroy",
                file=file,
                line=line,
                column=column,
            )
        )
    elif SQL_DELETE_ALL.search(value):
        findings.append(
            Finding(
                "medium",
                f"DELETE without WHERE: {value.strip()[:80]!r}",
                "danger.sql_delete_all",
                file=file,
                line=line,
                column=column,
            )
        )
    return findings


def outside_repo_literal(value: str) -> bool:
    """A literal path that points outside the repository: absolute, home, or climbing out."""
    if value in HARMLESS_PATHS or value.startswith(HARMLESS_PREFIXES):
        return False
    return (
        value.startswith(("/", "~", "\\"))
        or value.startswith("../")
        or "/../" in value
        or bool(re.match(r"^[A-Za-z]:[\\/]", value))
    )


# Scratch space and the standard streams are not "outside the repository" in any harmful sense.
HARMLESS_PATHS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/" + "tmp"})
HARMLESS_PREFIXES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/" + "tmp/")


# --- Python -------------------------------------------------------------------------------


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _resolve(name: str, aliases: dict[str, str]) -> str:
    head, _, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + (f".{rest}" if rest else "")
    return name


def python_findings(change: FileChange, index: PyIndex) -> list[Finding]:
    """Calls and strings on added lines (the index holds only those)."""
    aliases = index.aliases
    findings: list[Finding] = []
    path = change.path
    for node in index.calls:
        name = _resolve(dotted(node.func), aliases)
        line, col = node.lineno, node.col_offset + 1
        if name in PY_CALLS:
            severity, rule, message = PY_CALLS[name]
            findings.append(
                Finding(severity, f"{name}: {message}", rule, file=path, line=line, column=col)
            )
        if name in PY_SUBPROCESS or name.startswith("subprocess."):
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and not kw.value.value
                ):
                    findings.append(
                        Finding(
                            "high",
                            f"{name} with shell=True runs a shell command",
                            "danger.shell_true",
                            file=path,
                            line=line,
                            column=col,
                        )
                    )
        if (
            name in {"yaml.load", "yaml.load_all"}
            and not any(kw.arg == "Loader" for kw in node.keywords)
            and len(node.args) < 2
        ):
            findings.append(
                Finding(
                    "high",
                    f"{name} without a safe Loader can build arbitrary objects",
                    "danger.deserialize",
                    file=path,
                    line=line,
                    column=col,
                )
            )
        if name in PY_WRITE_CALLS or name.endswith(
            (".write_text", ".write_bytes", ".unlink", ".rmdir")
        ):
            findings.extend(_python_write(node, name, path))
    for node in index.strings:
        if RISKY_TEXT.search(node.value):
            findings.extend(scan_string(node.value, path, node.lineno, node.col_offset + 1))
    return findings


def _python_write(node: ast.Call, name: str, path: str) -> list[Finding]:
    literal = None
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        literal = node.args[0].value
    elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        inner = node.func.value  # Path("/etc/x").write_text(...)
        if (
            inner.args
            and isinstance(inner.args[0], ast.Constant)
            and isinstance(inner.args[0].value, str)
        ):
            literal = inner.args[0].value
    if literal is None or not outside_repo_literal(literal):
        return []
    if name in {"open", "io.open"}:
        mode = (
            node.args[1]
            if len(node.args) > 1
            else next((k.value for k in node.keywords if k.arg == "mode"), None)
        )
        mode_text = (
            mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
        )
        if not set(mode_text) & set("wax+"):
            return []
    return [
        Finding(
            "critical",
            f"{name} writes outside the repository: {literal!r}",
            "danger.write_outside",
            file=path,
            line=node.lineno,
            column=node.col_offset + 1,
            blocking=True,
        )
    ]


# --- JavaScript / TypeScript / PHP (tree-sitter) --------------------------------------------


def _node_on_added(node: object, added: set[int]) -> bool:
    start = node.start_point[0] + 1  # type: ignore[attr-defined]
    end = node.end_point[0] + 1  # type: ignore[attr-defined]
    return any(n in added for n in range(start, end + 1))


def _first_string_arg(args: object) -> str | None:
    if args is None:
        return None
    for child in args.named_children:  # type: ignore[attr-defined]
        target = (
            child.named_children[0] if child.type == "argument" and child.named_children else child
        )
        if target.type in {"string", "encapsed_string", "template_string"}:
            return node_text(target)[1:-1]
        return None
    return None


def tree_findings(change: FileChange, tree: object, language: str) -> list[Finding]:
    added = set(change.added)
    path = change.path
    findings: list[Finding] = []
    calls = PHP_CALLS if language == "php" else JS_CALLS
    writes = PHP_WRITE_CALLS if language == "php" else JS_WRITE_CALLS
    for node in walk(tree.root_node):  # type: ignore[attr-defined]
        kind = node.type
        if kind in {"call_expression", "new_expression", "function_call_expression"}:
            if not _node_on_added(node, added):
                continue
            func = (
                node.child_by_field_name("function")
                or node.child_by_field_name("constructor")
                or node.child_by_field_name("name")
            )
            name = node_text(func).replace("?.", ".").lstrip("\\")
            args = node.child_by_field_name("arguments")
            line, col = node.start_point[0] + 1, node.start_point[1] + 1
            if name in calls:
                severity, rule, message = calls[name]
                findings.append(
                    Finding(severity, f"{name}: {message}", rule, file=path, line=line, column=col)
                )
            elif name == "setTimeout" and _first_string_arg(args) is not None:
                findings.append(
                    Finding(
                        "medium",
                        "setTimeout with a string runs code",
                        "danger.eval",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            elif (
                language != "php"
                and name.endswith((".exec", ".execSync"))
                and "child" in name.lower()
            ):
                findings.append(
                    Finding(
                        "high",
                        f"{name}: runs a shell command",
                        "danger.os_system",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            if name in {
                "spawn",
                "child_process.spawn",
                "spawnSync",
                "child_process.spawnSync",
            } and "shell: true" in node_text(args).replace("'", "").replace('"', ""):
                findings.append(
                    Finding(
                        "high",
                        f"{name} with shell: true",
                        "danger.shell_true",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            if name in writes:
                literal = _first_string_arg(args)
                if literal is not None and outside_repo_literal(literal):
                    if name == "fopen" and not re.search(
                        r"[wax+]", node_text(args).split(",", 1)[-1]
                    ):
                        continue
                    findings.append(
                        Finding(
                            "critical",
                            f"{name} writes outside the repository: {literal!r}",
                            "danger.write_outside",
                            file=path,
                            line=line,
                            column=col,
                            blocking=True,
                        )
                    )
        elif kind == "shell_command_expression" and _node_on_added(node, added):
            findings.append(
                Finding(
                    "high",
                    "backtick shell command",
                    "danger.os_system",
                    file=path,
                    line=node.start_point[0] + 1,
                    column=node.start_point[1] + 1,
                )
            )
            findings.extend(
                scan_string(node_text(node), path, node.start_point[0] + 1, node.start_point[1] + 1)
            )
        elif kind in {
            "string",
            "template_string",
            "encapsed_string",
            "string_value",
            "heredoc",
            "nowdoc",
        } and _node_on_added(node, added):
            if node.parent is not None and node.parent.type in {
                "string",
                "template_string",
                "encapsed_string",
            }:
                continue
            findings.extend(
                scan_string(node_text(node), path, node.start_point[0] + 1, node.start_point[1] + 1)
            )
    return findings


# --- text (secrets everywhere; the rest where there is no tree) -----------------------------


SECRET_HINTS = (
    "private key",
    "akia",
    "gh",
    "xox",
    "aiza",
    "_live_",
    "glpat-",
    "sk-",
    "eyj",
    "key",
    "secret",
    "token",
    "passw",
)


def secret_findings(change: FileChange) -> list[Finding]:
    findings: list[Finding] = []
    text = "\n".join(change.added.values()).lower()
    if not any(hint in text for hint in SECRET_HINTS):
        return findings
    for line_no, line in change.added.items():
        for pattern, severity, what, blocking in SECRETS:
            if pattern.search(line):
                findings.append(
                    Finding(
                        severity,
                        f"adds {what}",
                        "secret.added",
                        file=change.path,
                        line=line_no,
                        blocking=blocking,
                    )
                )
                break
    return findings


TEXT_CODE = [
    (re.compile(r"\beval\s*\("), "high", "danger.eval", "eval() runs arbitrary code"),
    (
        re.compile(r"\bos\.system\s*\("),
        "high",
        "danger.os_system",
        "os.system() runs a shell command",
    ),
    (
        re.compile(r"\bshell\s*=\s*True\b"),
        "high",
        "danger.shell_true",
        "shell=True runs a shell command",
    ),
    (
        re.compile(r"\b(?:pickle|marshal)\.loads?\s*\("),
        "high",
        "danger.deserialize",
        "unpickling of data can run code",
    ),
    (
        re.compile(r"\bcurl\b[^\n|]*\|\s*(?:ba|z)?sh\b"),
        "critical",
        "danger.pipe_to_shell",
        "downloads and runs a script",
    ),
]


def text_findings(change: FileChange) -> list[Finding]:
    findings: list[Finding] = []
    for line_no, line in change.added.items():
        findings.extend(scan_string(line, change.path, line_no, None))
        for pattern, severity, rule, message in TEXT_CODE:
            if pattern.search(line):
                findings.append(
                    Finding(
                        severity,
                        message,
                        rule,
                        file=change.path,
                        line=line_no,
                        blocking=severity == "critical",
                    )
                )
    return findings


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.file, f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


@register
class DangerStage(Stage):
    name = "danger"
    order = 40
    title = "Dangerous patterns and secrets"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for change in ctx.readable_files():
            if change.is_binary or not change.added:
                continue
            findings.extend(secret_findings(change))
            tree = ctx.trees.get(change.path)
            language = change.language
            index = index_for(ctx, change) if language == "python" else None
            if index is not None:
                findings.extend(python_findings(change, index))
            elif tree is not None and language is not None:
                findings.extend(tree_findings(change, tree, language))
            else:
                findings.extend(text_findings(change))
        return _dedupe(findings)
