"""Tree-sitter parsers for JavaScript, TypeScript and PHP.

The per-language grammar wheels (tree-sitter-javascript, -typescript, -php) ship compiled
grammars and work offline. (tree-sitter-language-pack 1.x fetches its grammars from the network
on first use, which the console must never do, so it is not used.)
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import tree_sitter

_WHEELS: dict[str, tuple[str, str]] = {
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "php": ("tree_sitter_php", "language_php"),
}


@functools.cache
def parser_for(language: str) -> tree_sitter.Parser | None:
    wheel = _WHEELS.get(language)
    if wheel is None:
        return None
    try:
        module = importlib.import_module(wheel[0])
        capsule: Callable[[], Any] = getattr(module, wheel[1])
        return tree_sitter.Parser(tree_sitter.Language(capsule()))
    except (ImportError, AttributeError, ValueError):
        return None


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            yield cursor.node  # type: ignore[misc]
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return


def first_error(tree: tree_sitter.Tree) -> tree_sitter.Node | None:
    """The first ERROR or MISSING node, in document order."""
    if not tree.root_node.has_error:
        return None
    for node in walk(tree.root_node):
        if node.is_error or node.is_missing:
            return node
    return tree.root_node


def text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")
