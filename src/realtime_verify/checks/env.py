"""ENV-*: the real-time variables in every place they are configured.

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
from urllib.parse import urlsplit

import yaml
from dotenv import dotenv_values

from realtime_verify.checks.audit import BUILD_TIME_NOTE, AuditResult
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


# Checks ------------------------------------------------------------------------------------------


def audit_env(
    sources: list[EnvSource],
    *,
    site_url: str | None,
    socket_path: str,
    allowed_hosts: list[str] | None = None,
) -> list[AuditResult]:
    """ENV-001..003 over the sources that set at least one of the variables."""
    used = [s for s in sources if s.values or s.problems]
    results = [AuditResult("ENV-001"), AuditResult("ENV-002"), AuditResult("ENV-003")]
    if not used:
        for result in results:
            result.skipped = "no configured source sets NEXT_PUBLIC_* real-time variables"
            result.checked = [s.label for s in sources]
        return results
    enable, url, consistency = results
    for result in results:
        result.checked = [s.label for s in used]
    _check_enable(enable, used)
    _check_url(url, used, site_url, socket_path, allowed_hosts or [])
    _check_consistency(consistency, used)
    return results


def _check_enable(result: AuditResult, sources: list[EnvSource]) -> None:
    defined = [s.values[ENABLE] for s in sources if ENABLE in s.values]
    if not defined:
        result.add(
            "error",
            ", ".join(s.label for s in sources),
            f"{ENABLE} is set in no source: the page never opens its socket",
            f"set {ENABLE}=true; {BUILD_TIME_NOTE}",
        )
    for value in defined:
        if value.value.strip() != "true":
            result.add(
                "error",
                value.where,
                f"{ENABLE} is {value.value!r}, not 'true': the app compares with the string 'true'",
                f"set {ENABLE}=true; {BUILD_TIME_NOTE}",
            )


def _check_url(
    result: AuditResult, sources: list[EnvSource], site_url: str | None, socket_path: str, allowed: list[str]
) -> None:
    site = urlsplit(site_url) if site_url else None
    expected_path = "/" + socket_path.strip("/")
    for source in sources:
        path_value = source.values.get(PATH)
        page_path = "/" + (
            path_value.value.strip().strip("/") if path_value and path_value.value.strip() else "socket.io"
        )
        if path_value and path_value.value.strip() and page_path != expected_path:
            result.add(
                "error",
                path_value.where,
                f"{PATH} is {path_value.value!r} but the socket is served at {expected_path}/ (target.socket_path)",
                f"set {PATH}={expected_path}; {BUILD_TIME_NOTE}",
            )
        value = source.values.get(URL)
        if value is None or not value.value.strip():
            continue
        raw = value.value.strip()
        parts = urlsplit(raw)
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
            result.add(
                "error",
                value.where,
                f"{URL} {raw!r} is not a ws(s):// or http(s):// URL",
                f"use wss://<host>; {BUILD_TIME_NOTE}",
            )
            continue
        if site is not None and site.scheme == "https" and parts.scheme in ("ws", "http"):
            result.add(
                "error",
                value.where,
                f"{URL} is {raw!r} on an https site: browsers block it as mixed content",
                f"use {raw.replace(parts.scheme + '://', 'wss://', 1)}; {BUILD_TIME_NOTE}",
            )
        if site is not None and parts.hostname != site.hostname and parts.hostname not in allowed:
            result.add(
                "error",
                value.where,
                f"{URL} points at {parts.hostname}, not the site's host {site.hostname}"
                + (f" or an allowed one ({', '.join(allowed)})" if allowed else ""),
                "point it at the site (or list the socket host in config_files.allowed_hosts)",
            )
        url_path = parts.path.rstrip("/")
        if url_path and url_path != page_path.rstrip("/"):
            result.add(
                "error",
                value.where,
                f"{URL} has the path {parts.path!r}, which differs from {PATH} ({page_path}):"
                " socket.io-client takes a URL path as a namespace, not as the socket path",
                f"put only the origin in {URL} and the path in {PATH}; {BUILD_TIME_NOTE}",
            )
    if site is None:
        result.checked.append("no site URL given: scheme and host not judged (--site or config_files.site_url)")


def _check_consistency(result: AuditResult, sources: list[EnvSource]) -> None:
    for source in sources:
        for where, problem in source.problems:
            result.add("error", where, problem, "store base64 of the exact value (echo -n 'true' | base64)")
    for name in NAMES:
        defined = [s.values[name] for s in sources if name in s.values]
        for value in defined:
            if not value.value.strip():
                result.add(
                    "error", value.where, f"{name} is empty", f"give it a value, or remove it; {BUILD_TIME_NOTE}"
                )
        distinct = {v.value.strip() for v in defined if v.value.strip()}
        if len(distinct) > 1:
            listing = "; ".join(f"{v.value!r} at {v.where}" for v in defined)
            result.add(
                "error",
                defined[0].where,
                f"{name} differs between sources: {listing}",
                f"make every source agree (the build uses one of them); {BUILD_TIME_NOTE}",
            )
        for source in sources:
            if name not in source.values and source.values:
                result.add(
                    "warning",
                    source.label,
                    f"{name} is missing here while other real-time variables are set",
                    f"set {name} in {source.label} as in the other sources",
                )


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
