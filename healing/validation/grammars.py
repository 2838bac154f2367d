"""Tree-sitter parsers for JavaScript, TypeScript and PHP.

The per-language grammar wheels (tree-sitter-javascript, -typescript, -php) ship compiled
grammars and work offline. (tree-sitter-language-pack 1.x fetches its grammars from the network
on first use, which the console must never do, so it is not used.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import tree_sitter
import tree_sitter_javascript
import tree_sitter_php
import tree_sitter_typescript

# Imported at the top: a missing grammar wheel is an error at start-up, never a syntax check
# that quietly passes.
_LANGUAGES: dict[str, Callable[[], Any]] = {
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "php": tree_sitter_php.language_php,
}


@functools.cache
def parser_for(language: str) -> tree_sitter.Parser | None:
    """The parser for a language we check; None for a language we do not parse."""
    capsule = _LANGUAGES.get(language)
    if capsule is None:
        return None
    return tree_sitter.Parser(tree_sitter.Language(capsule()))


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
