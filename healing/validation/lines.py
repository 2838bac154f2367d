"""From a parser's positions to git's line numbers.

git counts lines by '\\n' alone; Python's tokenizer also ends a line at a lone '\\r'; tree-sitter
gives byte offsets. A node is placed by its offsets in the text, then numbered as git numbers the
line, so \\r, \\x0c, \\x85 or U+2028 in a file cannot move a finding off the line the review page
shows, or an added call off an added line."""

from __future__ import annotations

import re
from bisect import bisect_left

_PY_EOL = re.compile(r"\r\n|\r|\n")


class LineMap:
    def __init__(self, text: str) -> None:
        self.text = text
        self._nl = [m.start() for m in re.finditer("\n", text)]
        self._py_starts = [0, *(m.end() for m in _PY_EOL.finditer(text))]
        self._bytes: bytes | None = None
        self._nl_bytes: list[int] | None = None

    def git_line(self, offset: int) -> int:
        """1-based git line of a character offset."""
        return bisect_left(self._nl, offset) + 1

    def py_offset(self, lineno: int, col_bytes: int) -> int:
        """Character offset of a Python ast position (1-based line, UTF-8 byte column)."""
        index = min(max(lineno - 1, 0), len(self._py_starts) - 1)
        start = self._py_starts[index]
        prefix = self.text[start : start + col_bytes].encode("utf-8")[:col_bytes]
        return start + len(prefix.decode("utf-8", errors="ignore"))

    def py_lines(self, node: object) -> tuple[int, int]:
        """git's first and last line of a Python node."""
        start = self.py_offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        end = self.py_offset(end_line, end_col if end_col is not None else 0)
        return self.git_line(start), self.git_line(max(start, end - 1))

    def byte_lines(self, start_byte: int, end_byte: int) -> tuple[int, int]:
        """git's first and last line of a byte range of the UTF-8 text (tree-sitter nodes)."""
        if self._nl_bytes is None:
            self._bytes = self.text.encode("utf-8", errors="surrogatepass")
            self._nl_bytes = [m.start() for m in re.finditer(b"\n", self._bytes)]
        first = bisect_left(self._nl_bytes, start_byte) + 1
        last = bisect_left(self._nl_bytes, max(start_byte, end_byte - 1)) + 1
        return first, last
