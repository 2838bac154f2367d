"""The time one patch's validation may take. Past it the patch is rejected as too complex to
validate: the pipeline checks between stages and per file, and every git process it starts runs
with the time that is left as its timeout."""

from __future__ import annotations

import time


class TooComplex(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"too complex to validate in {seconds:g} s")
        self.seconds = seconds


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            self.expire()
        return left

    def check(self) -> None:
        self.remaining()

    def expire(self) -> None:
        raise TooComplex(self.seconds)

    @classmethod
    def none(cls) -> Deadline:
        return cls(10**9)
