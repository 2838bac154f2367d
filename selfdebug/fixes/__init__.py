"""The fix template registry. Importing this package registers every template."""

from . import javascript, python, python_syntax  # noqa: F401  (registration on import)
from .base import (
    TEMPLATES,
    FixContext,
    FixTemplate,
    ProposedFix,
    make_diff,
    syntax_ok,
    template_choices,
)

__all__ = [
    "TEMPLATES",
    "FixContext",
    "FixTemplate",
    "ProposedFix",
    "make_diff",
    "syntax_ok",
    "template_choices",
]
