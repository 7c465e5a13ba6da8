"""Keeping secrets out of reports, logs, frame logs and traces."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

REDACTED = "[REDACTED]"
# Shapes that carry credentials whatever their value: JSON fields, bearer headers, query tokens.
_PATTERNS = [
    re.compile(r'("(?:token|password|access_token|api_token|secret)"\s*:\s*")[^"]*(")', re.IGNORECASE),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"([?&](?:token|access_token|password)=)[^&\s\"']+", re.IGNORECASE),
    # Cookie headers and cookie records (HAR and Playwright traces): every value is a credential.
    re.compile(r'("name"\s*:\s*"(?:cookie|set-cookie|authorization)"\s*,\s*"value"\s*:\s*")[^"]*(")', re.IGNORECASE),
    re.compile(r"((?:^|\n)(?:cookie|set-cookie|authorization):\s*)[^\r\n]+", re.IGNORECASE),
]


def shared_redactor() -> Redactor:
    """The run's one redactor: the CLI filters stdout and stderr through it, the plugin writes every
    report through it, and both add the secrets they learn (passwords, tokens, cookies) to it."""
    return _SHARED


class Redactor:
    """Replaces known secret values and credential-shaped fields with [REDACTED]."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._sources: list[Callable[[], Iterable[str]]] = []

    def add_source(self, source: Callable[[], Iterable[str]]) -> None:
        """Secrets that appear later (tokens, cookies learnt during the run): asked for at every use."""
        self._sources.append(source)

    def add(self, *secrets: str) -> None:
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True)

    def text(self, text: str) -> str:
        if self._sources:
            self.add(*(secret for source in self._sources for secret in source()))
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.lastindex == 2 else ""), text)
        return text

    def file(self, path: Path) -> None:
        path.write_text(self.text(path.read_text(errors="replace")))

    def zip(self, path: Path) -> None:
        """Rewrite every text member of a zip (a Playwright trace) with secrets redacted."""
        with tempfile.NamedTemporaryFile(delete=False, dir=path.parent, suffix=".zip") as handle:
            temp = Path(handle.name)
        with (
            zipfile.ZipFile(path) as source,
            zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for member in source.infolist():
                data = source.read(member)
                try:
                    data = self.text(data.decode("utf-8")).encode("utf-8")
                except UnicodeDecodeError:
                    data = self._bytes(data)
                target.writestr(member, data)
        shutil.move(temp, path)

    def _bytes(self, data: bytes) -> bytes:
        for secret in self.secrets:
            data = data.replace(secret.encode(), REDACTED.encode())
        return data


class RedactingStream:
    """A text stream (stdout, stderr) whose every write goes through the redactor first."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor.text(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self._stream, name)


_SHARED = Redactor()
