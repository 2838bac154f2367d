"""What a JavaScript, TypeScript or PHP file can reach, read from its whole tree-sitter tree.

JavaScript: `require`/`import` bindings, destructuring (`const {exec: e} = require(...)`) and
simple assignments are resolved; `globalThis.eval`, `window["eval"]` fold to `eval`; a computed
member of a module that runs code, a `require`/`import()` of a name known only at run time, and
`.constructor(...)` calls (the Function constructor by another road) are findings. PHP: function
names are case-insensitive and may be namespaced; a string that names a dangerous function is a
callable (`call_user_func("system")`, `$f = "system"; $f()`), and so is judged as the call.
"""

from __future__ import annotations

from typing import Any

from .danger_rules import (
    HARNESS,
    JS_CALLS,
    JS_WRITE_CALLS,
    PHP_CALLS,
    PHP_WRITE_CALLS,
    outside_repo_literal,
    scan_string,
)
from .grammars import text as node_text
from .grammars import walk
from .lines import LineMap
from .pyscan import Hit, Located

JS_MODULES_THAT_RUN = frozenset(
    {"child_process", "vm", "process", "module", "worker_threads", "cluster", "fs", "eval"}
)
PROCESS_MODULES = frozenset({"child_process", "vm", "worker_threads", "cluster"})
JS_GLOBALS = ("globalThis.", "window.", "global.", "self.")
CHILD_RUNNERS = frozenset(
    {"exec", "execSync", "spawn", "spawnSync", "execFile", "execFileSync", "fork"}
)
JS_EXTRA: dict[str, tuple[str, str, str]] = {
    **{
        f"child_process.{n}": ("high", "danger.os_system", "runs a process or shell command")
        for n in CHILD_RUNNERS
    },
    "vm.runInContext": ("high", "danger.eval", "runs arbitrary code"),
    "vm.compileFunction": ("high", "danger.eval", "runs arbitrary code"),
    "vm.Script": ("high", "danger.eval", "runs arbitrary code"),
    # See danger_rules.HARNESS: the runner's report comes last, a process ended early forges it.
    "process.exit": ("high", "danger.harness", HARNESS),
    "process.reallyExit": ("high", "danger.harness", HARNESS),
    "process.abort": ("high", "danger.harness", HARNESS),
    "process.kill": ("high", "danger.harness", HARNESS),
    "process.binding": ("high", "danger.native", "reaches Node's internals"),
    "process._linkedBinding": ("high", "danger.native", "reaches Node's internals"),
    "process.dlopen": ("high", "danger.native", "loads native code"),
    "process.mainModule": ("high", "danger.dynamic_import", "reaches the module loader"),
    "module.constructor": ("high", "danger.dynamic_import", "reaches the module loader"),
    "require.main": ("high", "danger.dynamic_import", "reaches the module loader"),
    "module.require": ("high", "danger.dynamic_import", "reaches the module loader"),
}
STRING_TYPES = {"string", "template_string", "encapsed_string", "string_value", "heredoc", "nowdoc"}
DEFINITION_PARENTS = {
    "function_declaration",
    "method_definition",
    "formal_parameters",
    "import_specifier",
    "namespace_import",
    "import_clause",
    "pair_pattern",
    "class_declaration",
}


def string_value(node: Any) -> str | None:
    """The text of a string literal (or a concatenation of literals), else None."""
    if node is None:
        return None
    kind = node.type
    if kind in {"string", "encapsed_string"}:
        if any(
            c.type not in {"string_fragment", "string_content", '"', "'", "escape_sequence"}
            for c in node.children
        ):
            return None
        return node_text(node)[1:-1]
    if kind == "template_string":
        if any(c.type == "template_substitution" for c in node.children):
            return None
        return node_text(node)[1:-1]
    if kind == "binary_expression" and node_text(node.child_by_field_name("operator")) in {
        "+",
        ".",
    }:
        left = string_value(node.child_by_field_name("left"))
        right = string_value(node.child_by_field_name("right"))
        return left + right if left is not None and right is not None else None
    if kind in {"parenthesized_expression", "argument"} and node.named_child_count == 1:
        return string_value(node.named_children[0])
    return None


def _first_arg(node: Any) -> Any:
    args = node.child_by_field_name("arguments")
    if args is None or not args.named_child_count:
        return None
    return args.named_children[0]


def _norm_js(name: str) -> str:
    name = name.removeprefix("node:")
    while name.startswith(JS_GLOBALS):
        name = name.split(".", 1)[1]
    return name


class JsResolver:
    def __init__(self, root: Any) -> None:
        self.aliases: dict[str, str] = {}
        nodes = list(walk(root))
        for node in nodes:
            if node.type == "import_statement":
                source = string_value(node.child_by_field_name("source"))
                if source is None:
                    continue
                module = _norm_js(source)
                for clause in node.named_children:
                    if clause.type != "import_clause":
                        continue
                    for part in clause.named_children:
                        if part.type == "identifier":
                            self.aliases[node_text(part)] = module
                        elif part.type == "namespace_import" and part.named_child_count:
                            self.aliases[node_text(part.named_children[0])] = module
                        elif part.type == "named_imports":
                            for spec in part.named_children:
                                name = node_text(spec.child_by_field_name("name"))
                                alias = spec.child_by_field_name("alias")
                                self.aliases[node_text(alias) if alias else name] = (
                                    f"{module}.{name}"
                                )
        for _ in range(3):
            for node in nodes:
                if node.type == "variable_declarator":
                    self._bind(node.child_by_field_name("name"), node.child_by_field_name("value"))
                elif node.type == "assignment_expression":
                    self._bind(node.child_by_field_name("left"), node.child_by_field_name("right"))

    def _bind(self, target: Any, value: Any) -> None:
        if target is None or value is None:
            return
        name = self.qualify(value)
        if not name:
            return
        if target.type == "identifier" and node_text(target) != name:
            self.aliases[node_text(target)] = name
        elif target.type == "object_pattern":
            for part in target.named_children:
                if part.type == "shorthand_property_identifier_pattern":
                    self.aliases[node_text(part)] = f"{name}.{node_text(part)}"
                elif part.type == "pair_pattern":
                    key, value_node = (
                        part.child_by_field_name("key"),
                        part.child_by_field_name("value"),
                    )
                    if value_node is not None and value_node.type == "identifier":
                        self.aliases[node_text(value_node)] = (
                            f"{name}.{node_text(key).strip(chr(34) + chr(39))}"
                        )

    def qualify(self, node: Any) -> str:
        kind = node.type
        if kind == "identifier":
            text = node_text(node)
            return _norm_js(self.aliases.get(text, text))
        if (
            kind in {"parenthesized_expression", "await_expression", "non_null_expression"}
            and node.named_child_count
        ):
            return self.qualify(node.named_children[-1])
        if kind == "member_expression":
            obj = node.child_by_field_name("object")
            base = self.qualify(obj) if obj is not None else ""
            prop = node_text(node.child_by_field_name("property"))
            return _norm_js(f"{base}.{prop}") if base else ""
        if kind == "subscript_expression":
            obj = node.child_by_field_name("object")
            key = string_value(node.child_by_field_name("index"))
            base = self.qualify(obj) if obj is not None else ""
            return _norm_js(f"{base}.{key}" if base else "") if key is not None else ""
        if kind == "call_expression":
            func = node.child_by_field_name("function")
            if func is not None and node_text(func) in {"require", "import"}:
                module = string_value(_first_arg(node))
                return _norm_js(module) if module else ""
        return ""


def _js_danger(name: str) -> tuple[str, str, str] | None:
    parts = name.split(".")
    for end in range(len(parts) - 1, 0, -1):  # process.mainModule.require: process.mainModule
        prefix = ".".join(parts[:end])
        if prefix in JS_EXTRA:
            return JS_EXTRA[prefix]
    if name in JS_CALLS:
        return JS_CALLS[name]
    if name in JS_EXTRA:
        return JS_EXTRA[name]
    head, _, rest = name.partition(".")
    if head == "vm" and rest.startswith("run"):
        return ("high", "danger.eval", "runs arbitrary code")
    return None


def js_hits(root: Any) -> list[tuple[Hit, Any]]:
    resolver = JsResolver(root)
    hits: list[tuple[Hit, Any]] = []

    def add(severity: str, rule: str, message: str, node: Any, blocking: bool = False) -> None:
        hits.append((Hit(severity, rule, message, node, blocking), node))

    for node in walk(root):
        kind = node.type
        parent = node.parent
        if kind in {"identifier", "member_expression", "subscript_expression"}:
            if (
                parent is not None
                and parent.type in {"member_expression", "subscript_expression"}
                and parent.child_by_field_name("object") == node
            ):
                pass  # judged as part of the longer name
            elif parent is not None and (
                parent.type in DEFINITION_PARENTS
                or (
                    parent.type == "variable_declarator"
                    and parent.child_by_field_name("name") == node
                )
            ):
                pass
            else:
                name = resolver.qualify(node)
                danger = _js_danger(name) if name else None
                if danger is not None:
                    called = (
                        parent is not None
                        and parent.type in {"call_expression", "new_expression"}
                        and (
                            parent.child_by_field_name("function")
                            or parent.child_by_field_name("constructor")
                        )
                        == node
                    )
                    add(danger[0], danger[1], f"{name}: {danger[2]}", parent if called else node)
        if (
            kind == "subscript_expression"
            and string_value(node.child_by_field_name("index")) is None
        ):
            obj = node.child_by_field_name("object")
            base = resolver.qualify(obj) if obj is not None else ""
            if base and (
                base.split(".")[0] in JS_MODULES_THAT_RUN
                or base in {"globalThis", "window", "global", "self"}
            ):
                add(
                    "critical",
                    "danger.obfuscated",
                    f"{base}[...] with a name computed at run time",
                    node,
                    True,
                )
        elif kind in {"call_expression", "new_expression"}:
            func = node.child_by_field_name("function") or node.child_by_field_name("constructor")
            text = node_text(func)
            first = _first_arg(node)
            if (
                text in {"require", "import"}
                and _norm_js(string_value(first) or "") in PROCESS_MODULES
            ):
                add(
                    "high",
                    "danger.process_module",
                    f"loads {string_value(first)}: runs processes or code",
                    node,
                )
            if text in {"require", "import"} and first is not None and string_value(first) is None:
                add(
                    "high", "danger.dynamic_import", f"{text}() of a module named at run time", node
                )
            if (
                func is not None
                and func.type == "member_expression"
                and node_text(func.child_by_field_name("property")) == "constructor"
            ):
                add(
                    "high",
                    "danger.eval",
                    "calls a .constructor: the Function constructor runs code",
                    node,
                )
            name = resolver.qualify(func) if func is not None else ""
            if (
                name in {"setTimeout", "setInterval"}
                and first is not None
                and string_value(first) is not None
            ):
                add("high", "danger.eval", f"{name} with a string runs code", node)
            if name.split(".")[-1] in {
                "spawn",
                "spawnSync",
                "execFile",
                "execFileSync",
            } and "shell:true" in node_text(node.child_by_field_name("arguments")).replace(
                " ", ""
            ).replace("'", "").replace('"', ""):
                add("high", "danger.shell_true", f"{name} with shell: true", node)
            if name in JS_WRITE_CALLS:
                literal = string_value(first)
                if literal is not None and outside_repo_literal(literal):
                    add(
                        "critical",
                        "danger.write_outside",
                        f"{name} writes outside the repository: {literal!r}",
                        node,
                        True,
                    )
        elif kind in STRING_TYPES and (parent is None or parent.type not in STRING_TYPES):
            for severity, rule, message, blocking in scan_string(node_text(node)):
                add(severity, rule, message, node, blocking)
    return hits


def _php_name(node: Any) -> str:
    return node_text(node).lstrip("\\").rsplit("\\", 1)[-1].lower()


PHP_DANGEROUS = {name.lower(): entry for name, entry in PHP_CALLS.items()}
PHP_CALLERS = {
    "call_user_func",
    "call_user_func_array",
    "forward_static_call",
    "forward_static_call_array",
}


def php_hits(root: Any) -> list[tuple[Hit, Any]]:
    hits: list[tuple[Hit, Any]] = []

    def add(severity: str, rule: str, message: str, node: Any, blocking: bool = False) -> None:
        hits.append((Hit(severity, rule, message, node, blocking), node))

    for node in walk(root):
        kind = node.type
        parent = node.parent
        if kind == "function_call_expression":
            func = node.child_by_field_name("function")
            first = _first_arg(node)
            if func is not None and func.type in {"name", "qualified_name"}:
                name = _php_name(func)
                if name in PHP_DANGEROUS:
                    severity, rule, message = PHP_DANGEROUS[name]
                    if name == "assert":
                        if string_value(first) is None:
                            continue
                        severity = "high"
                    add(severity, rule, f"{name}(): {message}", node)
                elif name in PHP_CALLERS and first is not None and string_value(first) is None:
                    add(
                        "medium",
                        "danger.dynamic_call",
                        f"{name}() of a function named at run time",
                        node,
                    )
                elif name == "preg_replace" and (string_value(first) or "").rstrip().endswith("e"):
                    add("high", "danger.eval", "preg_replace with the /e modifier runs code", node)
                if name in {n.lower() for n in PHP_WRITE_CALLS}:
                    literal = string_value(first)
                    if literal is not None and outside_repo_literal(literal):
                        mode = node.child_by_field_name("arguments")
                        if name == "fopen" and not any(
                            c in node_text(mode).split(",", 1)[-1] for c in "wax+"
                        ):
                            continue
                        add(
                            "critical",
                            "danger.write_outside",
                            f"{name} writes outside the repository: {literal!r}",
                            node,
                            True,
                        )
            elif func is not None:
                add(
                    "high",
                    "danger.dynamic_call",
                    "calls a function whose name is computed at run time",
                    node,
                )
        elif kind == "shell_command_expression":
            add("high", "danger.os_system", "backtick shell command", node)
            for severity, rule, message, blocking in scan_string(node_text(node)):
                add(severity, rule, message, node, blocking)
        elif kind in {
            "include_expression",
            "include_once_expression",
            "require_expression",
            "require_once_expression",
        }:
            if (
                node.named_child_count
                and string_value(node.named_children[0]) is None
                and node.named_children[0].type != "binary_expression"
            ):
                add("medium", "danger.dynamic_import", "includes a file named at run time", node)
        elif kind == "binary_expression" and (parent is None or parent.type != "binary_expression"):
            value = string_value(node)
            if value is not None and value.strip().lstrip("\\").lower() in PHP_DANGEROUS:
                add("high", "danger.obfuscated", f"builds the name of {value!r} from pieces", node)
        elif kind in STRING_TYPES and (parent is None or parent.type not in STRING_TYPES):
            value = string_value(node)
            if (
                value is not None
                and value.strip().lstrip("\\").lower() in PHP_DANGEROUS
                and not (
                    parent is not None
                    and parent.type == "argument"
                    and parent.parent is not None
                    and parent.parent.parent is not None
                    and parent.parent.parent.type == "function_call_expression"
                    and _php_name(parent.parent.parent.child_by_field_name("function"))
                    in PHP_DANGEROUS
                )
            ):
                severity, rule, message = PHP_DANGEROUS[value.strip().lstrip("\\").lower()]
                add(
                    "high",
                    rule,
                    f"the string {value!r} names a dangerous function: {message}",
                    node,
                )
            for severity, rule, message, blocking in scan_string(node_text(node)):
                add(severity, rule, message, node, blocking)
    return hits


def tree_hits(tree: Any, text: str, language: str) -> list[Located]:
    raw = php_hits(tree.root_node) if language == "php" else js_hits(tree.root_node)
    lines = LineMap(text)
    out = []
    for hit, node in raw:
        span = lines.byte_lines(node.start_byte, node.end_byte)
        out.append(Located(hit, node_text(node), span, node.start_point[1] + 1))
    return out
