"""Reading the real-time variables from every place they are configured (for ENV-*).

Sources: `.env` files (python-dotenv), the process environment, Kubernetes manifests (Secret `data`
in base64 and `stringData`, ConfigMap `data`, container `env` of workloads). Only the three
NEXT_PUBLIC_* variables are read and reported; other values (secrets) are never printed.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dotenv import dotenv_values

from realtime_verify.errors import UsageError

ENABLE = "NEXT_PUBLIC_ENABLE_WEBSOCKETS"
URL = "NEXT_PUBLIC_WEBSOCKET_URL"
PATH = "NEXT_PUBLIC_WEBSOCKET_PATH"
NAMES = (ENABLE, URL, PATH)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}


@dataclass(frozen=True)
class EnvValue:
    value: str
    where: str


@dataclass
class EnvSource:
    """One place the variables are set: a file, the process environment, a manifest object."""

    label: str
    values: dict[str, EnvValue] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (where, what): undecodable values


def read_env_file(path: Path) -> EnvSource:
    text = _read(path)
    values = dotenv_values(stream=io.StringIO(text))
    source = EnvSource(str(path))
    for name in NAMES:
        if name in values:
            source.values[name] = EnvValue(values[name] or "", f"{path}:{_line_of(text, name)}")
    return source


def read_process_env(env: Mapping[str, str]) -> EnvSource:
    source = EnvSource("process environment")
    for name in NAMES:
        if name in env:
            source.values[name] = EnvValue(env[name], f"process environment ${name}")
    return source


def read_k8s(path: Path) -> list[EnvSource]:
    """Every Secret, ConfigMap and workload container in a (multi-document) manifest."""
    text = _read(path)
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is not valid YAML: {str(error).splitlines()[0]} ({_mark(error)})") from None
    sources = []
    for node in documents:
        if not isinstance(node, yaml.MappingNode):
            continue
        kind = _scalar(_get(node, "kind"))
        name = _scalar(_get(_get(node, "metadata"), "name")) or "?"
        if kind in ("Secret", "ConfigMap"):
            source = EnvSource(f"{path} ({kind} {name})")
            for section in ("data", "stringData") if kind == "Secret" else ("data",):
                mapping = _get(node, section)
                if not isinstance(mapping, yaml.MappingNode):
                    continue
                for key_node, value_node in mapping.value:
                    key = _scalar(key_node)
                    if key not in NAMES:
                        continue
                    raw = _scalar(value_node) or ""
                    where = f"{path}:{key_node.start_mark.line + 1} ({kind} {name}, {section}.{key})"
                    if kind == "Secret" and section == "data":
                        try:
                            raw = base64.b64decode(raw, validate=True).decode()
                        except (binascii.Error, UnicodeDecodeError):
                            source.problems.append((where, f"{key} is not valid base64"))
                            continue
                        where += " decoded from base64"
                    source.values[key] = EnvValue(raw, where)
            sources.append(source)
        elif kind in WORKLOADS:
            sources.extend(_containers(path, kind, name, node))
    return sources


def _containers(path: Path, kind: str, name: str, node: yaml.Node) -> list[EnvSource]:
    sources = []
    for container in _find_containers(node):
        cname = _scalar(_get(container, "name")) or "?"
        source = EnvSource(f"{path} ({kind} {name}, container {cname})")
        env = _get(container, "env")
        for item in env.value if isinstance(env, yaml.SequenceNode) else []:
            key = _scalar(_get(item, "name"))
            value_node = _get(item, "value")
            if key in NAMES and value_node is not None:
                where = f"{path}:{value_node.start_mark.line + 1} ({kind} {name}, container {cname}, env {key})"
                source.values[key] = EnvValue(_scalar(value_node) or "", where)
        if source.values:
            sources.append(source)
    return sources


def _find_containers(node: yaml.Node) -> list[yaml.MappingNode]:
    """Containers anywhere under spec (Deployment, CronJob's jobTemplate, Pod...)."""
    found = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if _scalar(key_node) in ("containers", "initContainers") and isinstance(value_node, yaml.SequenceNode):
                found += [c for c in value_node.value if isinstance(c, yaml.MappingNode)]
            else:
                found += _find_containers(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _find_containers(item)
    return found


# Helpers -----------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file") from None


def _line_of(text: str, name: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*(export\s+)?{re.escape(name)}\s*=", line):
            return number
    return 0


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if _scalar(key_node) == key:
            return value_node  # type: ignore[no-any-return]
    return None


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _mark(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f"line {mark.line + 1}" if mark is not None else "unknown line"
