"""The transmission envelope: its JSON Schema, body decoding with field-level errors, and the
diff built from original_code + patched_code when an agent sends no diff."""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

SCHEMA_VERSION = "2.0"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / f"envelope-{SCHEMA_VERSION}.json"
SERVER_SECTIONS = ("circuit_breaker_state", "sandbox_execution")


class IntakeError(Exception):
    """A submission refused, with messages per field. `status` is the HTTP answer."""

    def __init__(
        self,
        fields: dict[str, list[str]],
        *,
        status: int = 400,
        error: str = "invalid",
        detail: str = "",
    ) -> None:
        self.fields = fields
        self.status = status
        self.error = error
        self.detail = detail or "The patch was not accepted."
        super().__init__(
            self.detail + " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        )

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, "fields": self.fields}


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@functools.cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def _field_name(error: SchemaError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return f"{path}.{missing}" if path and missing else (missing or path or "body")
    return path or "body"


def _message(error: SchemaError) -> str:
    if error.validator == "required":
        return "This field is required."
    if error.validator == "anyOf" and list(error.absolute_path)[-1:] == ["patch_data"]:
        return "Give either 'diff', or 'original_code', 'patched_code' and 'file_path'."
    if error.validator == "enum":
        return f"Must be one of: {', '.join(map(str, error.validator_value))}."
    if error.validator == "const":
        return f"Must be {error.validator_value!r}."
    if error.validator == "type":
        return f"Must be of type {error.validator_value}."
    # Say the bound, not the (possibly huge) value that broke it.
    if error.validator == "maxItems":
        return f"At most {error.validator_value} items."
    if error.validator == "maxLength":
        return f"At most {error.validator_value} characters."
    if error.validator == "minLength":
        return f"At least {error.validator_value} character(s)."
    if error.validator == "uniqueItems":
        return "Items must be unique."
    if error.validator == "pattern" and list(error.absolute_path)[:2] == [
        "error_classification",
        "targets",
    ]:
        return "A test id or id prefix, without spaces or control characters."
    message = error.message
    return message if len(message) <= 300 else message[:300] + "…"


def validate_envelope(envelope: Any) -> dict[str, Any]:
    """The envelope without the server's sections, or IntakeError with one message per field."""
    if not isinstance(envelope, dict):
        raise IntakeError({"body": ["The body must be a JSON object."]})
    envelope = {k: v for k, v in envelope.items() if k not in SERVER_SECTIONS}
    errors: dict[str, list[str]] = {}
    for error in sorted(
        _validator().iter_errors(envelope), key=lambda e: list(map(str, e.absolute_path))
    ):
        errors.setdefault(_field_name(error), []).append(_message(error))
    if errors:
        raise IntakeError(errors)
    nul = _find_nul(envelope)
    if nul:
        raise IntakeError({nul: ["NUL bytes are not accepted."]})
    return envelope


def _find_nul(value: Any, path: str = "") -> str:
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else ""
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path or "body"
            found = _find_nul(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_nul(item, f"{path}.{i}")
            if found:
                return found
    return ""


def decode_body(body: bytes) -> Any:
    """bytes → JSON value, refusing non-UTF-8, NUL bytes and malformed JSON with a readable message."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntakeError({"body": [f"The body is not valid UTF-8 (byte {exc.start})."]}) from None
    if "\x00" in text:
        raise IntakeError({"body": ["The body contains NUL bytes."]})
    if not text.strip():
        raise IntakeError({"body": ["The body is empty; send a JSON envelope."]})
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise IntakeError(
            {"body": [f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."]}
        ) from None
    except (ValueError, RecursionError) as exc:
        raise IntakeError({"body": [f"Malformed JSON: {exc}"[:300]]}) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def build_diff(original: str, patched: str, file_path: str) -> str:
    """A git-style unified diff of one file from its text before and after."""
    path = file_path.lstrip("./") if file_path.startswith("./") else file_path
    before = original.splitlines(keepends=True)
    after = patched.splitlines(keepends=True)
    for lines in (before, after):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
    if before == after:
        return ""
    body = "".join(
        difflib.unified_diff(
            before, after, f"a/{path}" if before else "/dev/null", f"b/{path}", n=3
        )
    )
    header = f"diff --git a/{path} b/{path}\n"
    if not before:
        header += "new file mode 100644\n"
    return header + body
