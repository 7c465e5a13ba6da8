"""The real-time variables a Dockerfile bakes into the build: `ARG` and `ENV`, per stage.

NEXT_PUBLIC_* values are inlined by `next build`, which runs in a `RUN` of some stage: there both
`ARG` values and `ENV` values are in its environment (`ENV` wins). An `ARG` default is known; an
`ARG` without one takes whatever `--build-arg` the build passes, which is not in the Dockerfile, so
its value is unknown here. `ENV NAME=${ARG}` is substituted the way Docker does (`$VAR`, `${VAR}`,
`${VAR:-word}`, `${VAR:+word}`). An `ARG` before the first `FROM` is only visible in a stage that
declares it again. Each stage that sets one of the variables is one source.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from realtime_verify.audit.env_model import NAMES, EnvSource, EnvValue

_INSTRUCTION = re.compile(r"\s*([A-Za-z]+)\s+(.*)", re.DOTALL)
_SUBSTITUTION = re.compile(r"\$(?:\{(\w+)(?::([-+])([^}]*))?\}|(\w+))")


@dataclass(frozen=True)
class _Value:
    value: str | None
    line: int
    unknown: str = ""


def read_dockerfile(path: Path, text: str) -> list[EnvSource]:
    sources: list[EnvSource] = []
    global_args: dict[str, _Value] = {}
    scope: dict[str, _Value] | None = None
    stage: EnvSource | None = None
    for line, instruction, argument in _instructions(text):
        if instruction == "FROM":
            if stage is not None and stage.values:
                sources.append(stage)
            words = argument.split()
            stage_name = words[2] if len(words) >= 3 and words[1].lower() == "as" else str(len(sources))
            stage, scope = EnvSource(f"{path} (stage {stage_name})"), {}
        elif instruction == "ARG":
            for name, value in _pairs(argument, legacy=False):
                target = global_args if scope is None else scope
                if value is None:
                    inherited = global_args.get(name) if scope is not None else None
                    reason = f"ARG {name} has no default: its value comes from --build-arg, which is not given"
                    target[name] = inherited or _Value(None, line, reason)
                else:
                    target[name] = _substitute(value, line, {**global_args, **(scope or {})})
                if stage is not None and scope is not None and name in NAMES:
                    _record(stage, path, name, scope[name], line)
        elif instruction == "ENV" and scope is not None and stage is not None:
            for name, value in _pairs(argument, legacy=True):
                scope[name] = _substitute(value or "", line, scope)
                if name in NAMES:
                    _record(stage, path, name, scope[name], line)
    if stage is not None and stage.values:
        sources.append(stage)
    return sources


def _record(stage: EnvSource, path: Path, name: str, value: _Value, line: int) -> None:
    stage.values[name] = EnvValue(value.value, f"{path}:{line}", value.unknown)


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(first line, INSTRUCTION, argument) of every instruction, continuation lines joined."""
    escape = "`" if re.match(r"\s*#\s*escape\s*=\s*`", text) else "\\"
    found, pending, start = [], "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction is dropped, as Docker does
        if not pending:
            start = number
        if line.rstrip().endswith(escape):
            pending += line.rstrip()[:-1] + " "
            continue
        match = _INSTRUCTION.match(pending + line)
        pending = ""
        if match:
            found.append((start, match[1].upper(), match[2].strip()))
    return found


def _pairs(argument: str, legacy: bool) -> list[tuple[str, str | None]]:
    """NAME=value pairs of ARG/ENV (and `ENV NAME value`, the legacy form)."""
    try:
        words = shlex.split(argument, posix=True)
    except ValueError:
        words = argument.split()
    if legacy and words and "=" not in words[0]:
        return [(words[0], argument.split(None, 1)[1] if len(words) > 1 else "")]
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, value = word.partition("=")
        out.append((name, value if sep else None))
    return out


def _substitute(value: str, line: int, scope: dict[str, _Value]) -> _Value:
    unknown = ""

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name, operator, word = match[1] or match[4], match[2], match[3] or ""
        found = scope.get(name)
        if found is not None and found.value is None:
            unknown = unknown or found.unknown  # a --build-arg decides it, with or without a default word
            return ""
        value = found.value if found is not None else None
        if operator == "+":
            return word if value else ""
        return value or (word if operator == "-" else "")

    result = _SUBSTITUTION.sub(replace, value)
    return _Value(None if unknown else result, line, unknown)
