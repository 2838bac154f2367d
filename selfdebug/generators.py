"""Generator backends: ask a model for a fix when no template matches.

One interface (`GeneratorBackend.generate_fix`) and a registry. The one backend speaks the
OpenAI-compatible chat-completions protocol; base URL, model and key come from settings
(SELFHEAL_GENERATOR_*), and it is off unless a base URL is set. An answer is only a proposal once
it is a unified diff that parses, applies to the tree with `git apply --check`, and leaves every
touched file syntactically valid; anything else raises GeneratorError.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from healing.gitapply import apply_argv, stdin_of

from .fixes import ProposedFix, syntax_ok
from .fixes.base import apply_check


class GeneratorError(Exception):
    """The model could not be asked, or its answer is not a usable diff."""


@dataclass
class FixRequest:
    root: Path
    path: str
    language: str
    error_message: str
    traceback: str
    test_id: str = ""

    def source_text(self) -> str:
        target = (self.root / self.path).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            raise GeneratorError(f"{self.path} is not a file in the tree")
        return target.read_text(errors="replace")


class GeneratorBackend:
    name: ClassVar[str] = ""

    if TYPE_CHECKING:
        # What configured_generator() passes every registered backend (from the settings).
        def __init__(
            self, base_url: str, model: str, api_key: str = "", timeout: float = 30.0
        ) -> None: ...

    @property
    def label(self) -> str:
        """The modification source suffix: model:<label>."""
        return self.name

    def generate_fix(self, request: FixRequest) -> ProposedFix:
        raise NotImplementedError


GENERATORS: dict[str, type[GeneratorBackend]] = {}


def register_generator(cls: type[GeneratorBackend]) -> type[GeneratorBackend]:
    GENERATORS[cls.name] = cls
    return cls


_FENCE = re.compile(r"```(?:diff|patch)?[ \t]*\n(?P<body>.*?)```", re.S)


def extract_diff(answer: str) -> str:
    """The unified diff in a model's answer: a fenced block, or the text from the first header."""
    for match in _FENCE.finditer(answer):
        body = match.group("body")
        if re.search(r"^(?:diff --git |--- )", body, re.M):
            return body if body.endswith("\n") else body + "\n"
    start = re.search(r"^(?:diff --git |--- (?:a/|/dev/null))", answer, re.M)
    if start is None:
        raise GeneratorError("the answer holds no unified diff")
    body = answer[start.start() :]
    return body if body.endswith("\n") else body + "\n"


def check_diff(root: Path, diff: str) -> list[str]:
    """Parse, apply-check and syntax-check a diff against the tree; the touched paths."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as exc:
        raise GeneratorError(f"the diff does not parse: {exc}") from exc
    if not patch:
        raise GeneratorError("the diff touches no file")
    paths = [f.path for f in patch]
    for path in paths:
        if path.startswith("/") or ".." in Path(path).parts:
            raise GeneratorError(f"the diff reaches outside the tree: {path}")
    proc = apply_check(root, diff)
    if proc.returncode != 0:
        raise GeneratorError(f"the diff does not apply: {proc.stderr.strip()[:300]}")
    with tempfile.TemporaryDirectory(prefix="selfheal-gencheck-") as tmp:
        for f in patch:
            if not f.is_added_file and (root / f.path).is_file():
                target = Path(tmp) / f.path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / f.path, target)
        applied = subprocess.run(
            apply_argv(),
            cwd=tmp,
            input=stdin_of(diff),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if applied.returncode != 0:
            raise GeneratorError(f"the diff does not apply: {applied.stderr.strip()[:300]}")
        for f in patch:
            if f.is_removed_file:
                continue
            text = (Path(tmp) / f.path).read_text(errors="replace")
            if not syntax_ok(f.path, text):
                raise GeneratorError(f"the patched {f.path} does not parse")
    return paths


SYSTEM_PROMPT = (
    "You fix bugs in source code. Answer with one unified diff (git style, paths a/<file> and b/<file>) "
    "in a ```diff fenced block and nothing else. Change as little as possible."
)


@register_generator
class OpenAIChatGenerator(GeneratorBackend):
    """An OpenAI-compatible /chat/completions endpoint (OpenAI, vLLM, llama.cpp, Ollama...)."""

    name = "openai-chat"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url or not model:
            raise GeneratorError("the generator needs a base URL and a model")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.transport = transport

    @property
    def label(self) -> str:
        return self.model

    def _ask(self, messages: list[dict[str, str]]) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": 0}
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.post(
                    f"{self.base_url}/chat/completions", json=body, headers=headers
                )
        except httpx.TimeoutException as exc:
            raise GeneratorError(f"the model did not answer within {self.timeout:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise GeneratorError(f"cannot reach the model: {exc}") from exc
        if response.status_code != 200:
            raise GeneratorError(
                f"the model answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            data: Any = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorError("the model's answer is not a chat completion") from exc
        if not isinstance(content, str) or not content.strip():
            raise GeneratorError("the model's answer is empty")
        return content

    def generate_fix(self, request: FixRequest) -> ProposedFix:
        source = request.source_text()
        numbered = "\n".join(f"{i:4d}  {line}" for i, line in enumerate(source.splitlines(), 1))
        user = (
            f"File {request.path} ({request.language}) fails.\n"
            f"Test: {request.test_id}\nError: {request.error_message}\n"
            f"Traceback (tail):\n{request.traceback[-2000:]}\n\n"
            f"The file with line numbers:\n{numbered[:12000]}\n"
        )
        answer = self._ask(
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
        )
        diff = extract_diff(answer)
        paths = check_diff(request.root, diff)
        return ProposedFix(
            "model",
            self.label,
            paths[0],
            diff,
            f"Fix proposed by the model {self.model}.",
            request.language,
        )


def configured_generator() -> GeneratorBackend | None:
    """The generator from settings, or None when it is off (no base URL)."""
    from django.conf import settings

    config = getattr(settings, "DIAGNOSTICS_GENERATOR", {}) or {}
    if not config.get("base_url"):
        return None
    cls = GENERATORS.get(config.get("backend") or "openai-chat")
    if cls is None:
        return None
    return cls(
        config["base_url"],
        config.get("model", ""),
        config.get("api_key", ""),
        float(config.get("timeout", 30)),
    )
