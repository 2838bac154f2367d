"""Fix templates for JavaScript failures (checked with `node --check`)."""

from __future__ import annotations

import re
from pathlib import Path

from .base import Edit, FixContext, FixTemplate, close_match, register_template, replace_line

_IDENT = re.compile(r"(?<![\w$.])([A-Za-z_$][\w$]*)")
_STRINGS = re.compile(
    r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`(?:\\.|[^`\\])*`|//[^\n]*|/\*.*?\*/", re.S
)

JS_GLOBALS = {
    "Array",
    "Boolean",
    "Date",
    "Error",
    "JSON",
    "Map",
    "Math",
    "Number",
    "Object",
    "Promise",
    "RegExp",
    "Set",
    "String",
    "Symbol",
    "TypeError",
    "RangeError",
    "console",
    "module",
    "exports",
    "require",
    "parseInt",
    "parseFloat",
    "isNaN",
    "undefined",
    "process",
    "globalThis",
    "setTimeout",
    "structuredClone",
}
JS_METHODS = {
    # Array.prototype, String.prototype and Object's common methods
    "map",
    "filter",
    "reduce",
    "reduceRight",
    "forEach",
    "some",
    "every",
    "find",
    "findIndex",
    "findLast",
    "includes",
    "indexOf",
    "lastIndexOf",
    "join",
    "slice",
    "splice",
    "push",
    "pop",
    "shift",
    "unshift",
    "concat",
    "sort",
    "reverse",
    "flat",
    "flatMap",
    "fill",
    "keys",
    "values",
    "entries",
    "at",
    "toUpperCase",
    "toLowerCase",
    "trim",
    "trimStart",
    "trimEnd",
    "split",
    "replace",
    "replaceAll",
    "startsWith",
    "endsWith",
    "padStart",
    "padEnd",
    "repeat",
    "charAt",
    "charCodeAt",
    "substring",
    "match",
    "matchAll",
    "toString",
    "toFixed",
    "hasOwnProperty",
    "assign",
    "freeze",
    "fromEntries",
    "isArray",
    "from",
    "of",
    "has",
    "get",
    "set",
    "add",
    "delete",
    "clear",
    "then",
    "catch",
    "finally",
    "stringify",
    "parse",
    "max",
    "min",
    "floor",
    "ceil",
    "round",
    "abs",
    "sqrt",
    "random",
    "pow",
}


def _js_frame(ctx: FixContext) -> tuple[str, int, str]:
    frame = ctx.frame
    if frame is None or not frame.path.endswith((".js", ".mjs", ".cjs")):
        raise ValueError("no JavaScript frame in the repository")
    text = ctx.read(frame.path)
    if text is None:
        raise ValueError(f"cannot read {frame.path}")
    return frame.path, frame.line, text


def _code_only(text: str) -> str:
    return _STRINGS.sub(lambda m: " " * len(m.group(0)), text)


def identifiers(text: str) -> set[str]:
    return set(_IDENT.findall(_code_only(text)))


def _replace_word_in_code(line_text: str, old: str, new: str, *, after_dot: bool) -> str:
    masked = _code_only(line_text)
    prefix = r"(?<=\.)" if after_dot else r"(?<![\w$.])"
    hits = [m.start() for m in re.finditer(prefix + re.escape(old) + r"(?![\w$])", masked)]
    if not hits:
        raise ValueError(f"no {old!r} on the line")
    for start in reversed(hits):
        line_text = line_text[:start] + new + line_text[start + len(old) :]
    return line_text


@register_template
class JsReferenceCloseMatch(FixTemplate):
    name = "javascript.reference_close_match"
    language = "javascript"
    help = "A ReferenceError whose name is a near-miss of an identifier in the file or a global."

    def build(self, ctx: FixContext) -> Edit | None:
        missing = ctx.groups.get("name", "")
        path, line, text = _js_frame(ctx)
        better = close_match(missing, (identifiers(text) - {missing}) | JS_GLOBALS, 0.75)
        if not better:
            return None
        lines = text.splitlines(keepends=True)
        new_line = _replace_word_in_code(lines[line - 1], missing, better, after_dot=False)
        return Edit(
            path,
            replace_line(text, line, new_line),
            f"Use `{better}` for the undefined `{missing}`.",
        )


@register_template
class JsMethodNearMiss(FixTemplate):
    name = "javascript.method_near_miss"
    language = "javascript"
    help = "A TypeError 'x.foo is not a function' where foo is a near-miss of a known method."

    def build(self, ctx: FixContext) -> Edit | None:
        method = ctx.groups.get("method", "")
        path, line, text = _js_frame(ctx)
        better = close_match(method, JS_METHODS | identifiers(text), 0.75)
        if not better:
            return None
        lines = text.splitlines(keepends=True)
        new_line = _replace_word_in_code(lines[line - 1], method, better, after_dot=True)
        return Edit(
            path, replace_line(text, line, new_line), f"Call `.{better}` instead of `.{method}`."
        )


@register_template
class JsConstReassigned(FixTemplate):
    name = "javascript.const_to_let"
    language = "javascript"
    help = (
        "A TypeError 'Assignment to constant variable': declare the reassigned variable with let."
    )

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _js_frame(ctx)
        lines = text.splitlines(keepends=True)
        code = _code_only(lines[line - 1])
        m = re.search(r"([A-Za-z_$][\w$]*)\s*(?:[-+*/%]?=(?!=)|\+\+|--)", code) or re.search(
            r"(?:\+\+|--)\s*([A-Za-z_$][\w$]*)", code
        )
        if not m:
            return None
        name = m.group(1)
        for row in range(line, 0, -1):
            decl = re.search(rf"\bconst(\s+){re.escape(name)}\b", lines[row - 1])
            if decl:
                src = lines[row - 1]
                lines[row - 1] = src[: decl.start()] + "let" + src[decl.start() + 5 :]
                return Edit(
                    path,
                    "".join(lines),
                    f"`{name}` is reassigned: declare it with let (line {row}).",
                )
        return None


@register_template
class JsOptionalChain(FixTemplate):
    name = "javascript.optional_chaining"
    language = "javascript"
    help = "A TypeError reading a property of undefined/null: read it with optional chaining (?.)."

    def build(self, ctx: FixContext) -> Edit | None:
        prop = ctx.groups.get("prop", "")
        path, line, text = _js_frame(ctx)
        lines = text.splitlines(keepends=True)
        src = lines[line - 1]
        masked = _code_only(src)
        m = re.search(r"(?<![?\s])\.(" + re.escape(prop) + r")(?![\w$])", masked) or re.search(
            r"\[\s*['\"]" + re.escape(prop), src
        )
        if not m:
            return None
        at = m.start()
        new_line = src[:at] + "?." + src[at + 1 :] if src[at] == "." else src[:at] + "?." + src[at:]
        return Edit(
            path, replace_line(text, line, new_line), f"Read `{prop}` with ?. on line {line}."
        )


@register_template
class JsModulePathCloseMatch(FixTemplate):
    name = "javascript.module_path_close_match"
    language = "javascript"
    help = "Cannot find a relative module: require the close match among the files beside it."

    def build(self, ctx: FixContext) -> Edit | None:
        wanted = ctx.groups.get("module", "")
        if not wanted.startswith("."):
            return None
        for frame in reversed(ctx.case.frames):
            text = ctx.read(frame.path)
            if text is None or wanted not in text:
                continue
            folder = (ctx.root / frame.path).parent
            base = Path(wanted)
            siblings = {
                str(base.parent / p.stem)
                if not wanted.endswith(p.suffix)
                else str(base.parent / p.name)
                for p in (folder / base.parent).glob("*")
                if p.suffix in {".js", ".mjs", ".cjs", ".json"}
            }
            siblings = {s if s.startswith(".") else f"./{s}" for s in siblings}
            better = close_match(wanted, siblings, 0.75)
            if not better:
                return None

            def requote(m: re.Match[str], to: str = better) -> str:
                return m.group(1) + to + m.group(1)

            new = re.sub(r"(['\"])" + re.escape(wanted) + r"\1", requote, text)
            return Edit(frame.path, new, f"Require `{better}`; `{wanted}` does not exist.")
        return None
