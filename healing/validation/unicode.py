"""Trojan Source (CVE-2021-42574) and look-alikes: bidirectional controls make a line read in an
order other than the one the compiler sees; a Cyrillic 'а' in a Latin name makes two names look
the same. Both are blocking in the paths a patch touches and in the lines it adds."""

from __future__ import annotations

import re
import unicodedata

from .base import Finding, Stage, ValidationContext, register

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Characters that print as nothing: "admin\u200b" is not "admin".
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e")
# Scripts whose letters pass for Latin ones.
LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU"})
# Cyrillic and Greek letters drawn like Latin ones: a name made only of these reads as Latin.
LATIN_LOOKING = frozenset("аеорсухіјѕԁԛԝвнкмтАВЕКМНОРСТУХІЈЅαορνικτΑΒΕΖΗΙΚΜΝΟΡΤΥΧ")
_TOKEN = re.compile(r"[^\W\d_][\w]*", re.UNICODE)


def script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


def confusable(token: str) -> str:
    """Why a word is a look-alike ('' if it is not): Latin mixed with a look-alike script, or
    (in a Latin context) a word drawn entirely in look-alike letters."""
    if token.isascii():
        return ""
    scripts = {script(c) for c in token if c.isalpha()}
    if "LATIN" in scripts and scripts & LOOKALIKE_SCRIPTS:
        return f"mixes Latin with {', '.join(sorted(scripts & LOOKALIKE_SCRIPTS)).title()} letters"
    return ""


def _whole_lookalike(token: str) -> bool:
    return not token.isascii() and all(c in LATIN_LOOKING for c in token if c.isalpha())


def text_findings(
    text: str, file: str, line: int | None, *, in_path: bool = False
) -> list[Finding]:
    findings: list[Finding] = []
    where = "path" if in_path else "line"
    bidi = sorted({f"U+{ord(c):04X}" for c in text if c in BIDI})
    if bidi:
        findings.append(
            Finding(
                "critical",
                f"bidirectional control characters in the {where} ({', '.join(bidi)}): "
                "the text reads differently from what runs",
                "unicode.bidi",
                file=file,
                line=line,
                blocking=True,
            )
        )
    invisible = sorted({f"U+{ord(c):04X}" for c in text if c in INVISIBLE})
    if invisible:
        findings.append(
            Finding(
                "critical" if in_path else "high",
                f"invisible characters in the {where} ({', '.join(invisible)})",
                "unicode.invisible",
                file=file,
                line=line,
                blocking=in_path,
            )
        )
    if text.isascii():
        return findings
    latin_context = bool(re.search(r"[A-Za-z]", text))
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        why = confusable(token)
        if not why and in_path and latin_context and _whole_lookalike(token):
            why = "is written in letters that look Latin but are not"
        if why:
            findings.append(
                Finding(
                    "critical",
                    f"look-alike characters: {token!r} {why}",
                    "unicode.confusable",
                    file=file,
                    line=line,
                    column=match.start() + 1,
                    blocking=True,
                )
            )
            break
    return findings


@register
class UnicodeStage(Stage):
    name = "unicode"
    order = 28
    title = "Hidden and look-alike characters"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for change in ctx.readable_files():
            ctx.deadline.check()
            if change.is_binary:
                continue
            for number, text in change.added.items():
                findings.extend(text_findings(text, change.path, number))
        return findings
