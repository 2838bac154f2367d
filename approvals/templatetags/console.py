from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def ts(value: datetime | str | None) -> SafeString | str:
    """A timestamp the browser rewrites into the viewer's local time (UTC until it does)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):  # an ISO string from another area's JSON
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    return format_html(
        '<time class="localtime" datetime="{}">{} UTC</time>',
        value.isoformat(),
        value.strftime("%Y-%m-%d %H:%M:%S"),
    )


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@register.filter
def level_class(level: str) -> str:
    return {
        "SAFE": "lvl-safe",
        "LOW_RISK": "lvl-low",
        "MEDIUM_RISK": "lvl-medium",
        "HIGH_RISK": "lvl-high",
        "CRITICAL": "lvl-critical",
    }.get(level or "", "lvl-none")


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def percent(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f} %"
    except (TypeError, ValueError):
        return "—"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None
