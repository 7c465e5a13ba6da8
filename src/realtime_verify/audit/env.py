"""Reading the real-time variables from every place projects keep them (for the ENV family).

An input's kind is told by its name and content, never by the option it came with:

    dotenv      .env files (and `.env.*` variants), read as Next.js reads them (`env_dotenv`)
    compose     docker-compose files: `environment:`, `env_file:`, `build.args` (`env_yaml`)
    k8s         Kubernetes manifests: Secret, ConfigMap, workload containers (`env_yaml`)
    values      Helm-style values files where the variables are plain keys (`env_yaml`)
    dockerfile  `ARG`/`ENV` per build stage (`env_docker`)

Only NEXT_PUBLIC_ENABLE_WEBSOCKETS, NEXT_PUBLIC_WEBSOCKET_URL and NEXT_PUBLIC_WEBSOCKET_PATH are
read and reported; other values (secrets) are never printed. A value that cannot be known from what
was given (a `--build-arg`, a `${VAR}` set by the deploying shell) is kept as unknown, with the
reason, so that the checks say "review" instead of guessing.

Sources that layer over each other form a group (`group`, `rank`: the lower rank wins): the `.env`
files `next build` loads together, or a compose service's `environment:` over its `env_file:`s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from realtime_verify.audit.env_docker import read_dockerfile
from realtime_verify.audit.env_dotenv import dotenv_group, dotenv_source
from realtime_verify.audit.env_model import (
    ENABLE,
    KIND_LABELS,
    NAMES,
    NEXT_BUILD_ORDER,
    PATH,
    URL,
    EnvInput,
    EnvSource,
    EnvValue,
)
from realtime_verify.audit.env_yaml import read_yaml, yaml_kind
from realtime_verify.audit.files import read_input

__all__ = [
    "ENABLE",
    "KIND_LABELS",
    "NAMES",
    "PATH",
    "URL",
    "EnvInput",
    "EnvSource",
    "EnvValue",
    "detect_kind",
    "group_next_build",
    "read_env_file",
    "read_env_input",
    "read_k8s",
    "read_process_env",
]


def detect_kind(path: Path, text: str) -> str:
    """The kind of an env-style input, by its name first and its content second."""
    name = path.name.lower()
    if name.startswith(".env") or name.endswith(".env"):
        return "dotenv"
    if name in ("dockerfile", "containerfile") or name.endswith(".dockerfile") or name.startswith("dockerfile."):
        return "dockerfile"
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if re.match(r"(?i)\s*(FROM|ARG)\s", first) and re.search(r"(?im)^\s*FROM\s+\S", text):
        return "dockerfile"
    if name.endswith((".yaml", ".yml", ".json")) or re.match(r"\s*([\w.-]+:(\s|$)|---|- |\{)", first):
        return yaml_kind(path, text)
    return "dotenv"


def read_env_input(path: Path) -> EnvInput:
    """Every source of the real-time variables in one input file, whatever its kind."""
    text = read_input(path, "an env source")
    kind = detect_kind(path, text)
    if kind == "dotenv":
        return EnvInput(path, kind, [dotenv_source(path, text)])
    if kind == "dockerfile":
        return EnvInput(path, kind, read_dockerfile(path, text))
    sources, notes = read_yaml(path, text, kind)
    return EnvInput(path, kind, sources, notes)


def group_next_build(inputs: list[EnvInput]) -> None:
    """Layer the .env files of one folder the way `next build` loads them (first wins)."""
    by_folder: dict[Path, list[EnvInput]] = {}
    for one in inputs:
        if one.kind == "dotenv" and one.path.name in NEXT_BUILD_ORDER:
            by_folder.setdefault(one.path.resolve().parent, []).append(one)
        elif one.kind == "dotenv" and one.path.name.startswith((".env.development", ".env.test")):
            one.notes.append(f"{one.path}: `next build` does not load it (`next dev` or tests do); judged as given")
    for folder, members in by_folder.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda one: NEXT_BUILD_ORDER.index(one.path.name))
        texts = [(one.path, read_input(one.path, "an env file")) for one in members]
        for one, source in zip(members, dotenv_group(texts, f"next build in {folder}"), strict=True):
            one.sources = [source]
        order = " > ".join(one.path.name for one in members)
        members[0].notes.append(f"{folder}: `next build` loads {order} (the first that sets a variable wins)")


def read_process_env(env: Mapping[str, str]) -> EnvSource:
    source = EnvSource("process environment")
    for name in NAMES:
        if name in env:
            source.values[name] = EnvValue(env[name], f"process environment ${name}")
    return source


# Kept for callers that read one file of a known kind.
def read_env_file(path: Path) -> EnvSource:
    return dotenv_source(path)


def read_k8s(path: Path) -> list[EnvSource]:
    return read_env_input(path).sources
