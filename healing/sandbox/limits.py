"""Resource limits of a sandbox run, admin-tunable under `sandbox.`."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .. import tunables
from ..tunables import Tunable

GROUP = "Sandbox"
MB = 1024 * 1024

tunables.register(
    Tunable(
        "sandbox.wall_time_s",
        30.0,
        GROUP,
        "Wall-clock time a test run may take.",
        kind=float,
        min=0.5,
        max=3600,
        unit="s",
    ),
    Tunable(
        "sandbox.memory_mb",
        500,
        GROUP,
        "Writable memory of each sandboxed process (RLIMIT_DATA); the tree's RSS is watched too.",
        kind=int,
        min=32,
        max=65536,
        unit="MB",
    ),
    Tunable(
        "sandbox.cpu_s",
        60,
        GROUP,
        "CPU seconds of each sandboxed process.",
        kind=int,
        min=1,
        max=36000,
        unit="s",
    ),
    Tunable(
        "sandbox.max_processes",
        64,
        GROUP,
        "Processes alive at once in one sandbox.",
        kind=int,
        min=2,
        max=4096,
    ),
    Tunable(
        "sandbox.max_file_mb",
        50,
        GROUP,
        "Largest file a test may write.",
        kind=int,
        min=1,
        max=65536,
        unit="MB",
    ),
    Tunable(
        "sandbox.max_output_kb",
        1024,
        GROUP,
        "Output (stdout+stderr) a run may print.",
        kind=int,
        min=16,
        max=1024 * 1024,
        unit="KB",
    ),
    Tunable(
        "sandbox.measure_coverage",
        True,
        GROUP,
        "Measure coverage of the touched lines (Python, coverage.py).",
        kind=bool,
    ),
    Tunable(
        "sandbox.pytest_plugin_autoload",
        False,
        GROUP,
        "Let pytest load every plugin installed beside Selfheal. Off: only the plugins the test "
        "command names with -p, so the workspace's run is not slowed or changed by Selfheal's own.",
        kind=bool,
    ),
)


@dataclass(frozen=True)
class Limits:
    wall_time_s: float = 30.0
    memory_mb: int = 500
    cpu_s: int = 60
    max_processes: int = 64
    max_file_mb: int = 50
    max_output_kb: int = 1024

    @classmethod
    def for_workspace(cls, workspace: Any) -> Limits:
        values = tunables.get_group("sandbox.", workspace)
        return cls(
            **{
                k.removeprefix("sandbox."): v
                for k, v in values.items()
                if k.removeprefix("sandbox.") in cls.__dataclass_fields__
            }
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def preexec(self) -> Callable[[], None]:
        """Set the rlimits in the child before exec; they are inherited by the whole tree."""
        memory = self.memory_mb * MB
        cpu = self.cpu_s
        fsize = self.max_file_mb * MB
        nproc = self.max_processes

        def apply() -> None:
            # RLIMIT_DATA, not RLIMIT_AS: it counts what a process can write to, while V8 and
            # other runtimes reserve far more address space than they ever use.
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            # The hard limit a little above the soft one: SIGXCPU first (we can name it), SIGKILL after.
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            # Counted per user (and per user namespace); root ignores it, so the runner also
            # counts the tree itself.
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

        return apply
