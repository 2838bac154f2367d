"""Remote workspaces: clone-to-verdict and fetch-to-verdict for a 10-file and a 10,000-file
remote served by `git daemon` on loopback, and pushes per minute to one remote from two workers.

Run: .venv/bin/python bench/remote.py
"Verdict" here is what a worker needs before the tests can run: the mirror up to date, the
cached checkout of the branch head, and a scratch tree of it with the patch applied (the tests'
own time is the workspace's, measured by bench/sandbox_overhead.py). The first patch pays the
clone; every later one pays the fetch of what changed. Pushes: two processes, each with its own
mirror (separate var dirs), build a commit on the head they fetched and push it with a lease;
a refused push fetches and tries again."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Process, Queue
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

from healing.apply import gitops  # noqa: E402
from healing.remote import mirror  # noqa: E402
from healing.remote.push import RemoteMoved, push  # noqa: E402
from healing.sandbox.scratch import base_tree, overlay_supported, overlay_tree, scratch_tree  # noqa: E402
from tests.factories import git  # noqa: E402
from tests.remote_helpers import git_daemon  # noqa: E402

DIFF = "--- a/f0.py\n+++ b/f0.py\n@@ -1 +1 @@\n-x = 0\n+x = 1\n"
ROUNDS = 5
PUSH_SECONDS = 20


def make_remote(root: Path, count: int) -> tuple[Path, Path]:
    work = root / f"work{count}"
    work.mkdir(parents=True)
    for i in range(count):
        sub = work / f"d{i // 100}"
        sub.mkdir(exist_ok=True)
        (sub if i else work).joinpath(f"f{i}.py").write_text(f"x = {i}\n")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
    bare = root / "served" / f"r{count}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return work, bare


def new_commit(work: Path, bare: Path, n: int) -> None:
    """Someone else pushes a small change: what a later fetch brings."""
    (work / f"extra{n}.txt").write_text(f"{n}\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", f"c{n}")
    git(work, "push", "-q", str(bare), "main")


def verdict_ready(ws: SimpleNamespace, prepare) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    head = mirror.refresh(ws)
    repo = mirror.mirror_path(ws)
    base_tree(repo, head)
    with prepare(repo, head, DIFF):
        pass
    return (time.perf_counter() - started) * 1000


def pusher(url: str, mirrors: str, ident: int, seconds: float, out: Queue) -> None:
    settings.SELFHEAL_MIRRORS = mirrors
    ws = SimpleNamespace(pk=1, remote_url=url, branch="main", credentials_env="", forge="none")
    author = gitops.Author("bench", "b@b")
    landed = refused = 0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        head = mirror.refresh(ws)
        n += 1
        files = {f"w{ident}/n{n}.txt": (f"{n}\n".encode(), "100644")}
        commit = gitops.commit_from_files(
            mirror.mirror_path(ws), head, files, f"w{ident} {n}\n", author
        )
        try:
            push(ws, commit, "refs/heads/main", head)
            landed += 1
        except RemoteMoved:
            refused += 1
    out.put((ident, landed, refused))


def main() -> None:
    ok, _ = overlay_supported()
    prepare = overlay_tree if ok else scratch_tree
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings.SELFHEAL_SANDBOX_CACHE = str(root / "cache")
        remotes = {count: make_remote(root, count) for count in (10, 10_000)}
        with git_daemon(root / "served") as url:
            for count, (work, bare) in remotes.items():
                clones, fetches = [], []
                for r in range(ROUNDS):
                    settings.SELFHEAL_MIRRORS = str(root / f"mirrors-{count}-{r}")
                    ws = SimpleNamespace(
                        pk=count,
                        remote_url=f"{url}r{count}.git",
                        branch="main",
                        credentials_env="",
                        forge="none",
                    )
                    clones.append(verdict_ready(ws, prepare))
                    new_commit(work, bare, r)
                    fetches.append(verdict_ready(ws, prepare))
                c, f = statistics.median(clones), statistics.median(fetches)
                print(
                    f"{count:>6} files: clone-to-verdict {c:8.1f} ms, fetch-to-verdict {f:8.1f} ms (median of {ROUNDS})"
                )
                rows.append((count, clones, fetches))
            out: Queue = Queue()
            workers = [
                Process(
                    target=pusher,
                    args=(f"{url}r10.git", str(root / f"var{i}" / "mirrors"), i, PUSH_SECONDS, out),
                )
                for i in (1, 2)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            results = [out.get() for _ in workers]
            landed = sum(r[1] for r in results)
            refused = sum(r[2] for r in results)
            per_minute = landed * 60 / PUSH_SECONDS
            print(
                f"two workers, {PUSH_SECONDS} s: {landed} pushes landed ({per_minute:.0f}/min), {refused} refused by the lease and retried"
            )
            history = int(git(remotes[10][1], "rev-list", "--count", "main"))

    from _table import header, row, spread

    header()
    for count, clones, fetches in rows:
        row(
            f"remote {count:,} files: clone-to-verdict (first patch)",
            f"{statistics.median(clones):.0f} ms",
            spread(clones, fmt=".0f"),
        )
        ratio = statistics.median(fetches) / statistics.median(clones)
        row(
            f"remote {count:,} files: fetch-to-verdict (later patch)",
            f"{statistics.median(fetches):.0f} ms",
            spread(fetches, fmt=".0f"),
            f"×{ratio:.2f} of the clone",
        )
    row(
        "pushes per minute to one remote from two workers (lease, retry on refusal)",
        f"{per_minute:.0f}/min",
        f"{refused} refused of {landed + refused}",
        f"history {history} commits",
    )


if __name__ == "__main__":
    main()
