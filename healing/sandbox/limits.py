"""Resource limits of a sandbox run, admin-tunable under `sandbox.`."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .. import tunables

MB = 1024 * 1024


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
