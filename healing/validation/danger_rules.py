"""What the danger stage looks for: dangerous calls per language, destructive shell and SQL
text, secrets. Kept apart from the stage so the tables are easy to read and extend.

Every pattern is compiled by RE2 (rules.compile_rule): matching takes linear time whatever the
text, so a patch cannot stall a worker on a rule."""

from __future__ import annotations

import functools

from .rules import compile_rule

# --- what is dangerous --------------------------------------------------------------------

HARNESS = "ends or outlives the test run on its own terms: its verdict could be forged"

PY_CALLS: dict[str, tuple[str, str, str]] = {
    # dotted name → (severity, rule, message)
    "eval": ("high", "danger.eval", "eval() runs arbitrary code"),
    "exec": ("high", "danger.exec", "exec() runs arbitrary code"),
    "compile": ("high", "danger.compile", "compile() of dynamic code"),
    "__import__": ("medium", "danger.dynamic_import", "__import__() of a dynamic module"),
    "os.system": ("high", "danger.os_system", "os.system() runs a shell command"),
    "os.popen": ("high", "danger.os_system", "os.popen() runs a shell command"),
    "os.execv": ("high", "danger.exec_process", "replaces the process"),
    "os.execl": ("high", "danger.exec_process", "replaces the process"),
    "pty.spawn": ("high", "danger.exec_process", "spawns a shell"),
    "pty.fork": ("high", "danger.exec_process", "forks a pseudo-terminal"),
    "importlib.import_module": ("medium", "danger.dynamic_import", "imports a module by name"),
    "importlib.__import__": ("medium", "danger.dynamic_import", "imports a module by name"),
    "sys.modules": ("medium", "danger.dynamic_import", "reaches modules by name"),
    "code.interact": ("high", "danger.exec", "runs an interactive interpreter"),
    "code.InteractiveInterpreter": ("high", "danger.exec", "runs arbitrary code"),
    "code.InteractiveConsole": ("high", "danger.exec", "runs arbitrary code"),
    "runpy.run_path": ("high", "danger.exec", "runs a file as code"),
    "runpy.run_module": ("high", "danger.exec", "runs a module as code"),
    "codeop.compile_command": ("medium", "danger.compile", "compiles dynamic code"),
    "os.fork": ("medium", "danger.exec_process", "forks the process"),
    "os.forkpty": ("high", "danger.exec_process", "forks a pseudo-terminal"),
    # The test runner writes its report as the run ends: code that ends the process itself, or
    # runs after the tests, can write a report of its own and exit 0 (a forged verdict). Such a
    # patch always waits for a person.
    "os._exit": ("high", "danger.harness", HARNESS),
    "os.abort": ("high", "danger.harness", HARNESS),
    "atexit.register": ("high", "danger.harness", "runs code after the tests, " + HARNESS),
    "sys.settrace": ("high", "danger.harness", "rewires the interpreter under the test runner"),
    "sys.setprofile": ("high", "danger.harness", "rewires the interpreter under the test runner"),
    "os.kill": ("medium", "danger.exec_process", "sends a signal"),
    "os.killpg": ("medium", "danger.exec_process", "sends a signal"),
    "asyncio.create_subprocess_shell": ("high", "danger.os_system", "runs a shell command"),
    "asyncio.create_subprocess_exec": ("high", "danger.exec_process", "runs a process"),
    "multiprocessing.Process": ("medium", "danger.exec_process", "starts a process"),
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
# Modules whose members run code, processes or native calls: a name on them computed at run time
# (getattr with a non-literal, __dict__, vars()) is refused.
DANGEROUS_MODULES = frozenset(
    {
        "os", "subprocess", "pty", "ctypes", "cffi", "builtins", "__builtins__", "importlib",
        "sys", "shutil", "pickle", "marshal", "socket", "code", "codeop", "runpy", "asyncio",
        "multiprocessing", "posix", "nt", "_posixsubprocess", "_winapi", "dill", "shelve",
    }
)  # fmt: skip
# The same module under another name.
MODULE_ALIASES = {
    "posix": "os",
    "nt": "os",
    "__builtin__": "builtins",
    "__builtins__": "builtins",
    "_pickle": "pickle",
    "cPickle": "pickle",
    "_posixsubprocess": "subprocess",
    "_subprocess": "subprocess",
}
_PROCESS_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")


@functools.lru_cache(maxsize=8192)
def py_danger(name: str) -> tuple[str, str, str] | None:
    """(severity, rule, message) for a resolved dotted name that runs code, or None."""
    if name in PY_CALLS:
        return PY_CALLS[name]
    if name.startswith(_PROCESS_PREFIXES):
        return ("high", "danger.exec_process", "runs or replaces a process")
    if name.startswith("subprocess.") and name.split(".")[1] in SUBPROCESS_RUNNERS:
        return ("high", "danger.subprocess", "runs a process")
    if name.startswith("pty."):
        return ("high", "danger.exec_process", "pseudo-terminal process control")
    if name.startswith(("ctypes.", "cffi.", "_ctypes.")):
        return ("high", "danger.native", "calls native code")
    return None


SUBPROCESS_RUNNERS = frozenset(
    {
        "run",
        "call",
        "check_call",
        "check_output",
        "Popen",
        "getoutput",
        "getstatusoutput",
        "fork_exec",
    }
)
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

RM_RF = compile_rule(
    r"\brm\s+(?:-[a-zA-Z]*r[a-zA-Z]*f[a-zA-Z]*|-[a-zA-Z]*f[a-zA-Z]*r[a-zA-Z]*|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b(?P<rest>[^;&|\n]*)"
)
RM_RF_ROOTS = compile_rule(
    r"^\s*(?:--no-preserve-root\s+)?(?:/|/\*|~|~/|\$HOME|\$\{HOME\}|\*|\.|\./\*|/home\b|/etc\b|/usr\b|/var\b|/boot\b|/root\b)\s*(?:$|[\s'\"`])"
)
SQL_DESTROY = compile_rule(
    r"\b(?:DROP\s+(?:TABLE|DATABASE|SCHEMA|VIEW|INDEX)|TRUNCATE\s+(?:TABLE\s+)?[\w`\"\[])",
    ignore_case=True,
)
SQL_DELETE_ALL = compile_rule(r"\bDELETE\s+FROM\s+[\w`\"\[\].]+\s*(?:;|$)", ignore_case=True)

SECRETS: list[tuple[object, str, str, bool]] = [
    # pattern, severity, what, blocking
    (
        compile_rule(
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
        ),
        "critical",
        "a private key",
        True,
    ),
    (compile_rule(r"\bAKIA[0-9A-Z]{16}\b"), "critical", "an AWS access key id", True),
    (compile_rule(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "critical", "a GitHub token", True),
    (compile_rule(r"\bgithub_pat_[A-Za-z0-9_]{60,}\b"), "critical", "a GitHub token", True),
    (compile_rule(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "critical", "a Slack token", True),
    (compile_rule(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "critical", "a Google API key", True),
    (compile_rule(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"), "critical", "a Stripe live key", True),
    (compile_rule(r"\bglpat-[0-9A-Za-z_\-]{20,}\b"), "critical", "a GitLab token", True),
    (compile_rule(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b"), "critical", "an API secret key", True),
    (
        compile_rule(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        "high",
        "a JSON web token",
        False,
    ),
    (
        compile_rule(
            r"(?i)\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|password|passwd)\b[\"']?\s*[:=]\s*[\"'][^\"'\s]{12,}[\"']"
        ),
        "high",
        "a hard-coded credential",
        False,
    ),
]


# A cheap first look: most strings mention none of the words the real patterns need.
RISKY_TEXT = compile_rule(r"(?i)\brm\s|drop\s|truncate\s|delete\s")


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


TEXT_CODE = [
    (compile_rule(r"\beval\s*\("), "high", "danger.eval", "eval() runs arbitrary code"),
    (
        compile_rule(r"\bos\.system\s*\("),
        "high",
        "danger.os_system",
        "os.system() runs a shell command",
    ),
    (
        compile_rule(r"\bshell\s*=\s*True\b"),
        "high",
        "danger.shell_true",
        "shell=True runs a shell command",
    ),
    (
        compile_rule(r"\b(?:pickle|marshal)\.loads?\s*\("),
        "high",
        "danger.deserialize",
        "unpickling of data can run code",
    ),
    (
        compile_rule(r"\bcurl\b[^\n|]*\|\s*(?:ba|z)?sh\b"),
        "critical",
        "danger.pipe_to_shell",
        "downloads and runs a script",
    ),
]


# Scratch space and the standard streams are not "outside the repository" in any harmful sense.
HARMLESS_PATHS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/" + "tmp"})
HARMLESS_PREFIXES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/" + "tmp/")


# --- the string checks the Python and the tree-sitter scanners share -------------------------

_DRIVE = compile_rule(r"^[A-Za-z]:[\\/]")


def scan_string(value: str) -> list[tuple[str, str, str, bool]]:
    """(severity, rule, message, blocking) for shell and SQL destruction in a string."""
    hits: list[tuple[str, str, str, bool]] = []
    if not RISKY_TEXT.search(value):
        return hits
    for match in RM_RF.finditer(value):
        root = RM_RF_ROOTS.match(match["rest"])
        hits.append(
            (
                "critical" if root else "high",
                "danger.rm_rf",
                f"recursive forced delete: {match.group(0).strip()[:80]!r}",
                bool(root),
            )
        )
    if SQL_DESTROY.search(value):
        hits.append(
            ("high", "danger.sql_destroy", f"destructive SQL: {value.strip()[:80]!r}", False)
        )
    elif SQL_DELETE_ALL.search(value):
        hits.append(
            (
                "medium",
                "danger.sql_delete_all",
                f"DELETE without WHERE: {value.strip()[:80]!r}",
                False,
            )
        )
    return hits


def outside_repo_literal(value: str) -> bool:
    """A literal path that points outside the repository: absolute, home, or climbing out."""
    if value in HARMLESS_PATHS or value.startswith(HARMLESS_PREFIXES):
        return False
    return (
        value.startswith(("/", "~", "\\"))
        or value.startswith("../")
        or "/../" in value
        or bool(_DRIVE.search(value))
    )
