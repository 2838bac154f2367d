"""Fix templates for Python failures."""

from __future__ import annotations

import ast
import builtins
import re
import sys
from pathlib import Path

from .base import (
    Edit,
    FixContext,
    FixTemplate,
    close_match,
    indent_of,
    register_template,
    replace_line,
    replace_name_tokens,
)

_DID_YOU_MEAN = re.compile(r"Did you mean:? '?([A-Za-z_]\w*)'?")


def _frame_file(ctx: FixContext) -> tuple[str, int, str]:
    frame = ctx.frame
    if frame is None or not frame.path.endswith(".py"):
        raise ValueError("no Python frame in the repository")
    text = ctx.read(frame.path)
    if text is None:
        raise ValueError(f"cannot read {frame.path}")
    return frame.path, frame.line, text


def defined_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def insert_import(text: str, statement: str) -> str:
    """After the docstring, __future__ imports and existing top-level imports."""
    tree = ast.parse(text)
    after = 0
    for i, node in enumerate(tree.body):
        is_doc = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if is_doc or isinstance(node, ast.Import | ast.ImportFrom):
            after = node.end_lineno or node.lineno
        else:
            break
    lines = text.splitlines(keepends=True)
    lines.insert(after, statement + "\n")
    return "".join(lines)


@register_template
class NameCloseMatch(FixTemplate):
    name = "python.name_close_match"
    help = "A NameError whose name is a near-miss of a name in scope (difflib), or a missing stdlib import."

    def build(self, ctx: FixContext) -> Edit | None:
        missing = ctx.groups.get("name", "")
        path, line, text = _frame_file(ctx)
        tree = ast.parse(text)
        hint = _DID_YOU_MEAN.search(ctx.case.message)
        candidates = defined_names(tree) | set(dir(builtins))
        better = (
            hint.group(1)
            if hint and hint.group(1) in candidates
            else close_match(missing, candidates, 0.75)
        )
        if better:
            new = replace_name_tokens(text, line, missing, better, after_dot=False)
            return Edit(
                path, new, f"Use `{better}` instead of the undefined `{missing}` on line {line}."
            )
        if missing in sys.stdlib_module_names:
            return Edit(
                path,
                insert_import(text, f"import {missing}"),
                f"Import the standard module `{missing}`.",
            )
        return None


def _class_attributes(root: Path, class_name: str) -> set[str]:
    names: set[str] = set()
    for path in root.rglob("*.py"):
        if ".git" in path.parts or "node_modules" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == class_name:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                        names.add(sub.name)
                    elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        names.add(sub.attr)
                    elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        names.add(sub.id)
    return names


_BUILTIN_TYPES = {
    t.__name__: t for t in (str, list, dict, set, tuple, int, float, bytes, frozenset)
}


@register_template
class AttributeNearMiss(FixTemplate):
    name = "python.attribute_near_miss"
    help = "An AttributeError on a near-miss of an attribute the module, class or builtin type has."

    def build(self, ctx: FixContext) -> Edit | None:
        attr = ctx.groups.get("attr", "")
        owner = ctx.groups.get("owner", "")
        path, line, text = _frame_file(ctx)
        candidates: set[str] = set()
        if ctx.groups.get("kind") == "module":
            found = module_file(ctx.root, owner)
            if found is not None:
                candidates = top_level_names(ast.parse(found.read_text()))
            elif owner in sys.stdlib_module_names:
                import importlib

                candidates = set(dir(importlib.import_module(owner)))
        elif owner in _BUILTIN_TYPES:
            candidates = set(dir(_BUILTIN_TYPES[owner]))
        elif owner != "NoneType":
            candidates = _class_attributes(ctx.root, owner)
        hint = _DID_YOU_MEAN.search(ctx.case.message)
        better = (
            hint.group(1)
            if hint and hint.group(1) in candidates
            else close_match(attr, candidates, 0.7)
        )
        if not better:
            return None
        new = replace_name_tokens(text, line, attr, better, after_dot=True)
        return Edit(path, new, f"`{owner}` has no `{attr}`; use `{better}` on line {line}.")


@register_template
class ImportRenamed(FixTemplate):
    name = "python.import_renamed"
    help = "An ImportError of a name that was moved or renamed: import the close match under the old name."

    def build(self, ctx: FixContext) -> Edit | None:
        wanted, module = ctx.groups.get("name", ""), ctx.groups.get("module", "")
        found = module_file(ctx.root, module)
        if found is None:
            return None
        better = close_match(wanted, top_level_names(ast.parse(found.read_text())), 0.6)
        if not better:
            return None
        # The importing file is the innermost repository frame that holds the import.
        for frame in reversed(ctx.case.frames):
            text = ctx.read(frame.path) if frame.path.endswith(".py") else None
            if text is None:
                continue
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(
                    module.split(".")[-1]
                ):
                    for alias in node.names:
                        if alias.name == wanted:
                            replacement = f"{better} as {alias.asname or wanted}"
                            lines = text.splitlines(keepends=True)
                            for row in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                                src = lines[row - 1]
                                m = re.search(rf"\b{re.escape(wanted)}\b(\s+as\s+\w+)?", src)
                                if m and "import" in "".join(lines[node.lineno - 1 : row]):
                                    lines[row - 1] = src[: m.start()] + replacement + src[m.end() :]
                                    return Edit(
                                        frame.path,
                                        "".join(lines),
                                        f"`{module}` has no `{wanted}` any more; import `{better}` in its place.",
                                    )
        return None


def _local_modules(root: Path) -> set[str]:
    names = set()
    for path in root.iterdir():
        if path.suffix == ".py":
            names.add(path.stem)
        elif path.is_dir() and (path / "__init__.py").exists():
            names.add(path.name)
    return names


@register_template
class ModuleCloseMatch(FixTemplate):
    name = "python.module_close_match"
    help = "A ModuleNotFoundError for a misspelt module: use the close match (stdlib or local)."

    def build(self, ctx: FixContext) -> Edit | None:
        missing = ctx.groups.get("module", "").split(".")[0]
        better = close_match(missing, set(sys.stdlib_module_names) | _local_modules(ctx.root), 0.8)
        if not better:
            return None
        for frame in reversed(ctx.case.frames):
            text = ctx.read(frame.path) if frame.path.endswith(".py") else None
            if text is None or not re.search(
                rf"^\s*(import|from)\s+{re.escape(missing)}\b", text, re.M
            ):
                continue
            new = replace_name_tokens(text, None, missing, better, after_dot=False)
            return Edit(frame.path, new, f"There is no module `{missing}`; `{better}` is meant.")
        return None


def _enclosing(tree: ast.AST, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        inside = node.lineno <= line <= (node.end_lineno or 0)
        if inside and (best is None or node.lineno > best.lineno):
            best = node
    return best


def _segment_replace(text: str, node: ast.expr, new_segment: str) -> str:
    if node.lineno != node.end_lineno:
        raise ValueError("multi-line expression")
    lines = text.splitlines(keepends=True)
    src = lines[node.lineno - 1]
    line_bytes = src.encode()
    start, end = node.col_offset, node.end_col_offset or 0
    lines[node.lineno - 1] = (line_bytes[:start] + new_segment.encode() + line_bytes[end:]).decode()
    return "".join(lines)


@register_template
class KeyErrorGet(FixTemplate):
    name = "python.key_error_get"
    help = "A KeyError on a literal key: read it with .get() on the failing line."

    def build(self, ctx: FixContext) -> Edit | None:
        key = ast.literal_eval(ctx.groups.get("key", ""))
        path, line, text = _frame_file(ctx)
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and node.lineno == line
                and isinstance(node.slice, ast.Constant)
                and node.slice.value == key
            ):
                base = ast.get_source_segment(text, node.value)
                sub = ast.get_source_segment(text, node.slice)
                new = _segment_replace(text, node, f"{base}.get({sub})")
                return Edit(
                    path, new, f"Read {sub} with .get() on line {line}: a missing key gives None."
                )
        return None


@register_template
class ZeroDivisionGuard(FixTemplate):
    name = "python.zero_division_guard"
    help = (
        "A ZeroDivisionError: guard the division on the failing line so an empty divisor gives 0."
    )

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _frame_file(ctx)
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod)
                and node.lineno == line == node.end_lineno
            ):
                whole = ast.get_source_segment(text, node)
                divisor = ast.get_source_segment(text, node.right)
                new = _segment_replace(text, node, f"({whole} if {divisor} else 0)")
                return Edit(path, new, f"Guard the division by `{divisor}` on line {line}.")
        return None


@register_template
class UnboundLocalGlobal(FixTemplate):
    name = "python.unbound_local"
    help = "An UnboundLocalError on a module-level name assigned in a function: declare it global (or nonlocal)."

    def build(self, ctx: FixContext) -> Edit | None:
        name = ctx.groups.get("name", "")
        path, line, text = _frame_file(ctx)
        tree = ast.parse(text)
        func = _enclosing(tree, line)
        if func is None:
            return None
        outer = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n is not func
            and n.lineno < func.lineno <= (n.end_lineno or 0)
        ]
        if name in top_level_names(tree) and not outer:
            keyword = "global"
        elif outer and name in defined_names(outer[-1]):
            keyword = "nonlocal"
        else:
            return None
        first = func.body[0]
        lines = text.splitlines(keepends=True)
        indent = indent_of(lines[first.lineno - 1])
        is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        at = (first.end_lineno or first.lineno) if is_doc else first.lineno - 1
        lines.insert(at, f"{indent}{keyword} {name}\n")
        return Edit(path, "".join(lines), f"Declare `{name}` {keyword} in `{func.name}`.")


_RANGE_PLUS_ONE = re.compile(r"range\(\s*len\((?P<x>[^()]+)\)\s*\+\s*1\s*\)")
_LE_LEN = re.compile(r"<=\s*len\((?P<x>[^()]+)\)")
_INDEX_LEN = re.compile(r"\[\s*len\((?P<x>[^()]+)\)\s*\]")
_RANGE_LEN = re.compile(r"range\(\s*len\((?P<x>[^()]+)\)\s*\)")


@register_template
class IndexOffByOne(FixTemplate):
    name = "python.index_off_by_one"
    help = (
        "An IndexError from an off-by-one bound: range(len(x) + 1), <= len(x), x[len(x)], x[i + 1]."
    )

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _frame_file(ctx)
        tree = ast.parse(text)
        func = _enclosing(tree, line)
        start = func.lineno if func else line
        lines = text.splitlines(keepends=True)
        failing = lines[line - 1]
        if _INDEX_LEN.search(failing):
            new_line = _INDEX_LEN.sub(lambda m: f"[len({m.group('x')}) - 1]", failing, count=1)
            return Edit(
                path, replace_line(text, line, new_line), f"Index the last element on line {line}."
            )
        for row in range(line, start - 1, -1):
            src = lines[row - 1]
            for regex, repl in (
                (_RANGE_PLUS_ONE, lambda m: f"range(len({m.group('x')}))"),
                (_LE_LEN, lambda m: f"< len({m.group('x')})"),
            ):
                if regex.search(src):
                    new_line = regex.sub(repl, src, count=1)
                    return Edit(
                        path,
                        replace_line(text, row, new_line),
                        f"Stop one short of the end on line {row}.",
                    )
        if re.search(r"\[\s*\w+\s*\+\s*1\s*\]", failing):
            for row in range(line, start - 1, -1):
                src = lines[row - 1]
                if _RANGE_LEN.search(src):
                    new_line = _RANGE_LEN.sub(
                        lambda m: f"range(len({m.group('x')}) - 1)", src, count=1
                    )
                    return Edit(
                        path,
                        replace_line(text, row, new_line),
                        f"Stop the loop one early on line {row}.",
                    )
        return None


_FLOATY = re.compile(r"\d\.\d{6,}|\de-\d")


@register_template
class FloatApprox(FixTemplate):
    name = "python.float_approx"
    help = "An assertion of exact equality between floats: compare with pytest.approx."

    def build(self, ctx: FixContext) -> Edit | None:
        if not _FLOATY.search(ctx.case.message + ctx.case.details):
            return None
        frames = [
            f for f in ctx.case.frames if f.path.endswith(".py") and not f.path.startswith("/")
        ]
        if not frames:
            return None
        path, line = frames[-1].path, frames[-1].line
        text = ctx.read(path)
        if text is None:
            return None
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assert)
                and node.lineno == line
                and isinstance(node.test, ast.Compare)
                and len(node.test.ops) == 1
                and isinstance(node.test.ops[0], ast.Eq)
            ):
                right = node.test.comparators[0]
                segment = ast.get_source_segment(text, right)
                new = _segment_replace(text, right, f"pytest.approx({segment})")
                if "pytest" not in top_level_names(tree):
                    new = insert_import(new, "import pytest")
                return Edit(path, new, f"Compare floats with pytest.approx on line {line}.")
        return None


@register_template
class RemoveUnusedImport(FixTemplate):
    name = "python.remove_unused_import"
    help = (
        "Drop an import pyflakes reports as unused (the whole statement, or one name of several)."
    )

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _frame_file(ctx)
        unused = ctx.groups.get("name", "")
        tree = ast.parse(text)
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno != line:
                continue
            keep = [a for a in node.names if (a.asname or a.name) != unused]
            if len(keep) == len(node.names):
                continue
            lines = text.splitlines(keepends=True)
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            if keep:
                node.names = keep
                replacement = [indent_of(lines[start]) + ast.unparse(node) + "\n"]
            else:
                replacement = []
            lines[start:end] = replacement
            return Edit(path, "".join(lines), f"Remove the unused import `{unused}`.")
        return None


@register_template
class BareExcept(FixTemplate):
    name = "python.bare_except"
    help = "Narrow a bare `except:` to `except Exception:` so Ctrl-C and exits pass through."

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _frame_file(ctx)
        lines = text.splitlines(keepends=True)
        src = lines[line - 1]
        new = re.sub(r"\bexcept\s*:", "except Exception:", src, count=1)
        if new == src:
            return None
        return Edit(
            path, replace_line(text, line, new), f"Catch Exception, not everything, on line {line}."
        )


def _repo_functions(
    root: Path, name: str
) -> list[tuple[str, str, ast.FunctionDef, ast.ClassDef | None]]:
    """(path, text, function, enclosing class) for every function called `name` outside tests."""
    found: list[tuple[str, str, ast.FunctionDef, ast.ClassDef | None]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if {".git", "node_modules", ".venv"} & set(rel.parts) or rel.name.startswith("test_"):
            continue
        try:
            text = path.read_text()
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == name:
                        found.append((str(rel), text, item, node))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                found.append((str(rel), text, node, None))
    return found


@register_template
class MethodMissingSelf(FixTemplate):
    name = "python.method_missing_self"
    help = "A method defined without `self` gets one argument too many: add the `self` parameter."

    def build(self, ctx: FixContext) -> Edit | None:
        func, owner = ctx.groups.get("func", ""), ctx.groups.get("cls", "")
        expected, given = int(ctx.groups.get("n", "0")), int(ctx.groups.get("m", "0"))
        if given != expected + 1:
            return None
        for path, text, node, klass in _repo_functions(ctx.root, func):
            if klass is None or (owner and klass.name != owner):
                continue
            decorators = {ast.unparse(d) for d in node.decorator_list}
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            if decorators & {"staticmethod", "classmethod"} or (
                params and params[0] in {"self", "cls"}
            ):
                continue
            lines = text.splitlines(keepends=True)
            src = lines[node.lineno - 1]
            m = re.search(rf"\bdef\s+{re.escape(func)}\s*\(", src)
            if not m:
                return None
            rest = src[m.end() :]
            insert = "self" if rest.lstrip().startswith(")") else "self, "
            lines[node.lineno - 1] = src[: m.end()] + insert + rest
            return Edit(path, "".join(lines), f"`{klass.name}.{func}` is a method: give it `self`.")
        return None


@register_template
class MissingReturn(FixTemplate):
    name = "python.missing_return"
    help = "A function that computes a value but never returns it (the caller gets None)."

    def build(self, ctx: FixContext) -> Edit | None:
        func = ctx.groups.get("func", "")
        for path, text, node, _ in _repo_functions(ctx.root, func):
            own = [
                n for n in ast.walk(node) if isinstance(n, ast.Return | ast.Yield | ast.YieldFrom)
            ]
            if own:
                continue
            last = node.body[-1]
            lines = text.splitlines(keepends=True)
            indent = indent_of(lines[last.lineno - 1])
            end = last.end_lineno or last.lineno
            if (
                isinstance(last, ast.Assign)
                and len(last.targets) == 1
                and isinstance(last.targets[0], ast.Name)
            ):
                lines.insert(end, f"{indent}return {last.targets[0].id}\n")
            elif isinstance(last, ast.AugAssign | ast.AnnAssign) and isinstance(
                last.target, ast.Name
            ):
                lines.insert(end, f"{indent}return {last.target.id}\n")
            elif (
                isinstance(last, ast.Expr)
                and not isinstance(last.value, ast.Constant)
                and last.lineno == end
            ):
                lines[end - 1] = indent + "return " + lines[end - 1].lstrip()
            else:
                return None
            return Edit(
                path, "".join(lines), f"`{func}` computes its result but does not return it."
            )
        return None
