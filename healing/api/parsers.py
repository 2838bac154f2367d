"""JSON request bodies with a nesting limit, for every API endpoint.

Python's json module recurses once per level: a body nested a few hundred levels deep parses,
then breaks whatever walks it next (serializers, JSON columns, the schema validator) with a
RecursionError, a 500. The depth is measured first, without recursion, and refused as a 400."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64
# A JSON string (escapes included): brackets inside one do not nest anything.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str, stop_at: int | None = None) -> int:
    """How deep arrays and objects nest in `text` (stops counting past `stop_at`)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    break
        else:
            depth -= 1
    return deepest


def too_deep(text: str) -> str:
    """A message if `text` nests deeper than the limit, else ''."""
    limit = max_depth()
    if json_depth(text, stop_at=limit) > limit:
        return f"The JSON nests deeper than {limit} levels."
    return ""


def max_depth() -> int:
    return int(getattr(settings, "SELFHEAL_MAX_JSON_DEPTH", MAX_JSON_DEPTH))


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than the limit with a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        problem = too_deep(text)
        if problem:
            raise ParseError(problem)
        try:
            if self.strict:
                return json.loads(text, parse_constant=_refuse_constant)
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
