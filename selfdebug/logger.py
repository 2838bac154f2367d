"""The diagnostic logger of the design: a context stack with entry and exit, parameters, durations,
exceptions and state changes. Entries are kept in memory and stored with the run as JSON."""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

MAX_ENTRIES = 5000


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) else value[:500]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value[:50]]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in list(value.items())[:50]}
    return repr(value)[:500]


class DiagnosticLogger:
    def __init__(self, component: str, logger: logging.Logger | None = None) -> None:
        self.component = component
        self.logger = logger or logging.getLogger(f"selfheal.diagnostics.{component}")
        self.context_stack: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.dropped = 0

    def _add(self, kind: str, **data: Any) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            self.dropped += 1
            return
        self.entries.append(
            {
                "at": datetime.now(UTC).isoformat(),
                "kind": kind,
                "depth": len(self.context_stack),
                "context": self.context_stack[-1]["name"] if self.context_stack else "",
                **{k: _jsonable(v) for k, v in data.items()},
            }
        )

    def enter_context(self, name: str, **parameters: Any) -> None:
        self._add("enter", name=name, parameters=parameters)
        self.context_stack.append(
            {"name": name, "parameters": parameters, "start": time.monotonic()}
        )
        self.logger.debug("enter %s %s", name, parameters)

    def exit_context(self, result: Any = None, exception: BaseException | None = None) -> None:
        if not self.context_stack:
            self._add("warning", message="exit from an empty context stack")
            return
        context = self.context_stack.pop()
        duration_ms = round((time.monotonic() - context["start"]) * 1000, 2)
        if exception is not None:
            self._add(
                "exception",
                name=context["name"],
                duration_ms=duration_ms,
                exception=f"{type(exception).__name__}: {exception}",
                traceback="".join(traceback.format_exception(exception))[-3000:],
            )
            self.logger.warning(
                "exception in %s: %s (%.1f ms)", context["name"], exception, duration_ms
            )
        else:
            self._add("exit", name=context["name"], duration_ms=duration_ms, result=result)

    @contextlib.contextmanager
    def context(self, name: str, **parameters: Any) -> Iterator[dict[str, Any]]:
        """with logger.context("rerun", test=...) as ctx: ctx["result"] = ... (stored on exit)."""
        box: dict[str, Any] = {}
        self.enter_context(name, **parameters)
        try:
            yield box
        except BaseException as exc:
            self.exit_context(exception=exc)
            raise
        self.exit_context(result=box.get("result"))

    def log_state_change(
        self, entity: str, attribute: str, old: Any, new: Any, reason: str = ""
    ) -> None:
        self._add("state", entity=entity, attribute=attribute, old=old, new=new, reason=reason)

    def info(self, message: str, **data: Any) -> None:
        self._add("info", message=message, **data)

    def as_json(self) -> dict[str, Any]:
        return {"component": self.component, "entries": self.entries, "dropped": self.dropped}
