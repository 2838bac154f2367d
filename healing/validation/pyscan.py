"""What a Python file can reach, read from its whole syntax tree with names resolved.

Every reference (not only calls: `map(os.system, ...)` and `f = os.system` count) is resolved
through the file's imports and simple assignments (`import os as o`, `from os import system as s`,
`o = __import__("os")`, `f = getattr(os, "system")`), through the modules that are the same
module under another name (posix, nt, builtins), and through literal dynamic access
(`getattr(os, "sys" + "tem")` folds to os.system). What cannot be resolved on a module that
matters — a non-literal attribute name, `os.__dict__`, a non-literal import — is itself a finding.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

from .danger_rules import DANGEROUS_MODULES, MODULE_ALIASES, py_danger

DYNAMIC_IMPORTS = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
NAMESPACE_CALLS = frozenset({"globals", "locals", "vars"})
DUNDER_REACH = frozenset(
    {"__dict__", "__globals__", "__builtins__", "__subclasses__", "__code__", "__getattribute__"}
)


@dataclass
class Hit:
    severity: str
    rule: str
    message: str
    node: ast.AST
    blocking: bool = False


@dataclass
class PyFacts:
    hits: list[Hit] = field(default_factory=list)
    imports: list[tuple[str, ast.AST]] = field(default_factory=list)
    strings: list[ast.Constant] = field(default_factory=list)
    calls: list[tuple[str, ast.Call]] = field(default_factory=list)  # resolved name, call


def literal(node: ast.AST | None) -> str | None:
    """A string the expression always evaluates to ('a' + 'b', f'{"x"}', 'x'.lower() ...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal(node.left), literal(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                inner = literal(value.value)
                if inner is None or value.format_spec is not None:
                    return None
                parts.append(inner)
            else:
                text = literal(value)
                if text is None:
                    return None
                parts.append(text)
        return "".join(parts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"lower", "upper", "strip", "join"}
    ):
        base = literal(node.func.value)
        if base is None:
            return None
        if node.func.attr == "join":
            items = node.args[0] if node.args else None
            if isinstance(items, ast.List | ast.Tuple):
                texts = [literal(e) for e in items.elts]
                return base.join(texts) if all(t is not None for t in texts) else None  # type: ignore[arg-type]
            return None
        return getattr(base, node.func.attr)()
    return None


@functools.lru_cache(maxsize=8192)  # the same few hundred names, thousands of times a file
def normalise(name: str) -> str:
    # os.path is posixpath, which imports os: os.path.os.system is os.system.
    for prefix in ("os.path.os.", "posixpath.os.", "ntpath.os.", "shutil.os.", "subprocess.os."):
        if name.startswith(prefix):
            name = "os." + name[len(prefix) :]
    head, _, rest = name.partition(".")
    head = MODULE_ALIASES.get(head, head)
    if head in {"builtins", "__builtins__"} and rest:
        return rest
    return f"{head}.{rest}" if rest else head


class Resolver:
    def __init__(self, tree: ast.Module, nodes: list[ast.AST] | None = None) -> None:
        self.aliases: dict[str, str] = {}
        self.star: list[tuple[str, ast.AST]] = []
        if nodes is None:
            nodes, _ = walk(tree)
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    self.aliases[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self.star.append((node.module, node))
                    else:
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        assigns = [n for n in nodes if isinstance(n, ast.Assign | ast.AnnAssign | ast.NamedExpr)]
        for _ in range(3):  # chains of assignments settle in a few rounds
            for node in assigns:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if value is None:
                    continue
                name = self.qualify(value)
                if not name:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and target.id != name:
                        self.aliases[target.id] = name

    def qualify(self, node: ast.AST) -> str:
        """The dotted name an expression stands for, '' when it is not a name."""
        if isinstance(node, ast.Name):
            return normalise(self.aliases.get(node.id, node.id))
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return normalise(f"{base}.{node.attr}") if base else ""
        if isinstance(node, ast.Call):
            func = self.qualify(node.func)
            first = node.args[0] if node.args else None
            if func in DYNAMIC_IMPORTS:
                text = literal(first)
                if text and func == "__import__" and not _has_fromlist(node):
                    return normalise(text.split(".")[0])
                return normalise(text) if text else ""
            if func == "getattr" and len(node.args) >= 2:
                base, attr = self.qualify(node.args[0]), literal(node.args[1])
                return normalise(f"{base}.{attr}") if base and attr else ""
            if func == "sys.modules.get":
                text = literal(first)
                return normalise(text) if text else ""
            return ""
        if isinstance(node, ast.Subscript):
            key = literal(node.slice)
            holder = node.value
            if key is None:
                return ""
            if isinstance(holder, ast.Call) and self.qualify(holder.func) in NAMESPACE_CALLS:
                inner = holder.args[0] if holder.args else None
                scope = self.qualify(inner) if inner is not None else ""
                return normalise(f"{scope}.{key}" if scope else key)
            if isinstance(holder, ast.Attribute) and holder.attr == "__dict__":
                scope = self.qualify(holder.value)
                return normalise(f"{scope}.{key}") if scope else ""
            scope = self.qualify(holder)
            if scope == "sys.modules":
                return normalise(key)
            if scope in {"__builtins__", "builtins"}:
                return normalise(key)
        return ""


def _has_fromlist(call: ast.Call) -> bool:
    return len(call.args) >= 4 or any(k.arg == "fromlist" for k in call.keywords)


# Per node type, the fields that can hold nodes the scan looks at: not `ctx` (Load, Store) nor
# `op`/`ops` (operators), leaves that are a third of a tree's nodes and never a reference.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})


def walk(tree: ast.AST) -> tuple[list[ast.AST], dict[int, ast.AST]]:
    """Every node but contexts and operators, in ast.walk's order (breadth first), and each
    node's parent: one pass, where separate walks for aliases, parents, references and
    subscripts took five."""
    nodes = [tree]
    parents: dict[int, ast.AST] = {}
    AST = ast.AST
    for node in nodes:  # grows as it goes: breadth first, as ast.walk
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                parents[id(value)] = node
                nodes.append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, AST):
                        parents[id(item)] = node
                        nodes.append(item)
    return nodes, parents


_SCANNED: dict[int, tuple[ast.Module, PyFacts]] = {}


def scan(tree: ast.Module) -> PyFacts:
    """The file's facts; the danger and import stages share one scan of each tree."""
    cached = _SCANNED.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    facts = _scan(tree)
    if len(_SCANNED) >= 16:
        _SCANNED.clear()
    _SCANNED[id(tree)] = (tree, facts)
    return facts


_LOOKED_AT = (
    ast.Import,
    ast.ImportFrom,
    ast.Constant,
    ast.Call,
    ast.Attribute,
    ast.Name,
    ast.Subscript,
)


def _scan(tree: ast.Module) -> PyFacts:
    facts = PyFacts()
    nodes, parents = walk(tree)
    resolver = Resolver(tree, nodes)
    for module, node in resolver.star:
        facts.imports.append((module, node))
        if normalise(module).split(".")[0] in DANGEROUS_MODULES:
            facts.hits.append(
                Hit(
                    "critical",
                    "danger.obfuscated",
                    f"from {module} import *: every name of a module that runs code, unnamed",
                    node,
                    blocking=True,
                )
            )
    for node in nodes:
        if not isinstance(node, _LOOKED_AT):
            continue
        if isinstance(node, ast.Import):
            facts.imports.extend((alias.name, node) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            facts.imports.append((node.module, node))
            facts.imports.extend(
                (f"{node.module}.{a.name}", node) for a in node.names if a.name != "*"
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            facts.strings.append(node)
        elif isinstance(node, ast.Call):
            facts.hits.extend(_call_hits(node, resolver, facts))
        if isinstance(node, ast.Attribute) and node.attr in DUNDER_REACH:
            base = resolver.qualify(node.value)
            on_module = bool(base) and base.split(".")[0] in DANGEROUS_MODULES
            facts.hits.append(
                Hit(
                    "critical" if on_module else "high",
                    "danger.obfuscated",
                    f"reaches into {(base or 'an object') + '.' + node.attr}: names resolved at run time",
                    node,
                    blocking=on_module,
                )
            )
        if isinstance(node, ast.Name) and node.id == "__builtins__":
            facts.hits.append(Hit("high", "danger.obfuscated", "uses __builtins__ directly", node))
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript | ast.Call):
            parent = parents.get(id(node))
            if isinstance(parent, ast.Attribute) and parent.value is node:
                continue  # judged as part of the longer name
            name = resolver.qualify(node)
            if not name:
                continue
            if name in HANDLED_ONLY_BY_NAME and not _named_use(node, parent):
                facts.hits.append(
                    Hit(
                        "high",
                        "danger.obfuscated",
                        f"the {name} module handed on as a value: what it runs cannot be followed",
                        node,
                    )
                )
            danger = py_danger(name)
            if danger is not None:
                severity, rule, message = danger
                # A called name is judged with its call: new arguments are a new call.
                where = parent if isinstance(parent, ast.Call) and parent.func is node else node
                facts.hits.append(Hit(severity, rule, f"{name}: {message}", where))
    facts.hits.extend(_subscript_hits(nodes, resolver))
    return facts


# Modules that may be used only through literal attribute names the scan can follow.
HANDLED_ONLY_BY_NAME = frozenset(
    {"os", "subprocess", "pty", "ctypes", "builtins", "importlib", "posix", "nt", "runpy", "code"}
)


def _named_use(node: ast.AST, parent: ast.AST | None) -> bool:
    """`os.x`, `o = os`, `getattr(os, "x")`: uses of a module the scan follows by name."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return True
    if isinstance(parent, ast.Assign | ast.AnnAssign) and parent.value is node:
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        return all(isinstance(t, ast.Name) for t in targets)
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        func = parent.func
        return (
            isinstance(func, ast.Name)
            and func.id in {"getattr", "hasattr"}
            and len(parent.args) >= 2
            and literal(parent.args[1]) is not None
        )
    return False


def _call_hits(node: ast.Call, resolver: Resolver, facts: PyFacts) -> Iterator[Hit]:
    func = resolver.qualify(node.func)
    facts.calls.append((func, node))
    first = node.args[0] if node.args else None
    if func in DYNAMIC_IMPORTS:
        text = literal(first)
        if text is None:
            yield Hit(
                "high",
                "danger.dynamic_import",
                f"{func}() of a module named at run time",
                node,
            )
        else:
            facts.imports.append((text, node))
    elif func == "getattr" and len(node.args) >= 2 and literal(node.args[1]) is None:
        base = resolver.qualify(node.args[0])
        if base and base.split(".")[0] in DANGEROUS_MODULES:
            yield Hit(
                "critical",
                "danger.obfuscated",
                f"getattr() on {base} with a name computed at run time",
                node,
                blocking=True,
            )
    elif func in NAMESPACE_CALLS:
        inner = resolver.qualify(first) if first is not None else ""
        if inner and inner.split(".")[0] in DANGEROUS_MODULES:
            yield Hit(
                "critical",
                "danger.obfuscated",
                f"{func}({inner}): a module's names by string",
                node,
                blocking=True,
            )
    elif func in {"sys.modules.get", "sys.modules.__getitem__"} and literal(first) is None:
        yield Hit("high", "danger.dynamic_import", "a module looked up at run time", node)


def _subscript_hits(nodes: list[ast.AST], resolver: Resolver) -> Iterator[Hit]:
    """globals()[x], sys.modules[x], __builtins__[x] with a key not known before run time."""
    for node in nodes:
        if not isinstance(node, ast.Subscript) or literal(node.slice) is not None:
            continue
        base = node.value
        scope = ""
        if isinstance(base, ast.Call) and resolver.qualify(base.func) in NAMESPACE_CALLS:
            scope = resolver.qualify(base.func) + "()"
        else:
            name = resolver.qualify(base)
            if name in {"sys.modules", "__builtins__", "builtins"} or name.endswith(".__dict__"):
                scope = name
        if scope:
            yield Hit(
                "high",
                "danger.obfuscated",
                f"{scope}[...] with a key computed at run time",
                node,
            )


class Located:
    """A hit with its git lines and a key that does not depend on where it is."""

    def __init__(self, hit: Hit, key: str, lines: tuple[int, int], column: int | None) -> None:
        self.hit, self.key, self.lines, self.column = hit, key, lines, column
