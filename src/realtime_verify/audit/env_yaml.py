"""The real-time variables in YAML inputs: Kubernetes manifests, docker-compose files, Helm values.

Read as YAML nodes, so every value keeps its line.

- Kubernetes: Secret `data` (base64, decoded exactly: a trailing newline is part of the value) and
  `stringData`, ConfigMap `data`, workload containers' `env` (literal `value`, and `valueFrom`
  resolved from the Secrets and ConfigMaps of the same file; `envFrom` needs nothing more: the
  object is judged itself).
- docker-compose: per service, `environment:` (list or map) over its `env_file:`s (later files win),
  and `build.args` (list or map) on their own; `${VAR}`, `${VAR:-default}` interpolated from the
  `.env` beside the compose file, as compose does (a variable it does not set comes from the shell
  that runs compose: unknown here).
- Helm-style values: any mapping whose keys are the variables (`web.env: {NAME: value}`), or an
  `env:` list of `{name, value}`.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import yaml

from realtime_verify.audit.env_dotenv import dotenv_group, expand, read_values, references
from realtime_verify.audit.env_model import NAMES, EnvSource, EnvValue
from realtime_verify.audit.files import read_input
from realtime_verify.errors import UsageError

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


def documents(path: Path, text: str) -> list[yaml.Node]:
    try:
        return [node for node in yaml.compose_all(text, Loader=Loader) if node is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "unknown line"
        raise UsageError(f"{path} is not valid YAML: {str(error).splitlines()[0]} ({line})") from None
    except RecursionError:
        # The pure-Python composer recurses once per nesting level (no libyaml on this machine).
        raise UsageError(f"{path} is nested too deeply to read: is it really a deployment file?") from None


def yaml_kind(path: Path, text: str) -> str:
    nodes = documents(path, text)
    if any(_scalar(_get(n, "apiVersion")) and _scalar(_get(n, "kind")) for n in nodes):
        return "k8s"
    if nodes and isinstance(_get(nodes[0], "services"), yaml.MappingNode):
        return "compose"
    return "values"


def read_yaml(path: Path, text: str, kind: str) -> tuple[list[EnvSource], list[str]]:
    nodes = documents(path, text)
    if kind == "k8s":
        return _k8s(path, nodes)
    if kind == "compose":
        return _compose(path, nodes[0])
    return _values(path, nodes), []


# Kubernetes ---------------------------------------------------------------------------------------


def _k8s(path: Path, nodes: list[yaml.Node]) -> tuple[list[EnvSource], list[str]]:
    objects = [item for node in nodes for item in _items(node)]
    stores: dict[tuple[str, str], dict[str, str | None]] = {}  # (kind, name) -> key -> decoded value
    sources: list[EnvSource] = []
    notes: list[str] = []
    for node in objects:
        kind, name = _scalar(_get(node, "kind")), _scalar(_get(_get(node, "metadata"), "name")) or "?"
        if kind in ("Secret", "ConfigMap"):
            source, store = _store(path, kind, name, node)
            stores[(kind, name)] = store
            sources.append(source)
    for node in objects:
        kind, name = _scalar(_get(node, "kind")), _scalar(_get(_get(node, "metadata"), "name")) or "?"
        if kind in WORKLOADS:
            sources += _containers(path, kind, name, node, stores, notes)
    return sources, notes


def _items(node: yaml.Node) -> list[yaml.Node]:
    if _scalar(_get(node, "kind")) == "List" and isinstance(items := _get(node, "items"), yaml.SequenceNode):
        return list(items.value)
    return [node] if isinstance(node, yaml.MappingNode) else []


def _store(path: Path, kind: str, name: str, node: yaml.Node) -> tuple[EnvSource, dict[str, str | None]]:
    source = EnvSource(f"{path} ({kind} {name})")
    store: dict[str, str | None] = {}
    for section in ("data", "stringData") if kind == "Secret" else ("data",):
        mapping = _get(node, section)
        for key_node, value_node in mapping.value if isinstance(mapping, yaml.MappingNode) else []:
            key, raw = _scalar(key_node) or "", _scalar(value_node) or ""
            where = f"{path}:{key_node.start_mark.line + 1} ({kind} {name}, {section}.{key})"
            value: str | None = raw
            if kind == "Secret" and section == "data":
                try:
                    value = base64.b64decode(raw, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    value = None
                    if key in NAMES:
                        source.problems.append((where, f"{key} is not valid base64"))
                where += " decoded from base64"
            store[key] = value
            if key in NAMES and value is not None:
                source.values[key] = EnvValue(value, where)
    return source, store


def _containers(
    path: Path,
    kind: str,
    name: str,
    node: yaml.Node,
    stores: dict[tuple[str, str], dict[str, str | None]],
    notes: list[str],
) -> list[EnvSource]:
    sources = []
    for container in _find_containers(node):
        cname = _scalar(_get(container, "name")) or "?"
        source = EnvSource(f"{path} ({kind} {name}, container {cname})")
        env = _get(container, "env")
        for item in env.value if isinstance(env, yaml.SequenceNode) else []:
            key = _scalar(_get(item, "name"))
            if key not in NAMES:
                continue
            where = f"{path}:{item.start_mark.line + 1} ({kind} {name}, container {cname}, env {key})"
            literal, reference = _get(item, "value"), _get(item, "valueFrom")
            if literal is not None:
                source.values[key] = EnvValue(_scalar(literal) or "", where)
            elif reference is not None:
                found = _reference(reference, stores)
                if found is None:
                    source.values[key] = EnvValue(None, where, f"comes from {_describe(reference)}, not in {path}")
                elif found[0] != key and found[1] is not None:
                    # Judged here: the object holds it under another name.
                    source.values[key] = EnvValue(found[1], f"{where} from {_describe(reference)}")
        for item in env_from.value if isinstance(env_from := _get(container, "envFrom"), yaml.SequenceNode) else []:
            for ref_kind, field_name in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = _scalar(_get(_get(item, field_name), "name"))
                if ref and (ref_kind, ref) not in stores:
                    notes.append(
                        f"{path}: container {cname} of {kind} {name} takes envFrom {ref_kind} {ref}, not given"
                    )
        if source.values:
            sources.append(source)
    return sources


def _reference(node: yaml.Node, stores: dict[tuple[str, str], dict[str, str | None]]) -> tuple[str, str | None] | None:
    for ref_kind, field_name in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
        ref = _get(node, field_name)
        name, key = _scalar(_get(ref, "name")), _scalar(_get(ref, "key"))
        if ref is not None and name and key and key in stores.get((ref_kind, name), {}):
            return key, stores[(ref_kind, name)][key]
    return None


def _describe(node: yaml.Node) -> str:
    for field_name in ("configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef"):
        ref = _get(node, field_name)
        if ref is not None:
            return f"{field_name} {_scalar(_get(ref, 'name')) or ''} {_scalar(_get(ref, 'key')) or ''}".strip()
    return "valueFrom"


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


# docker-compose ----------------------------------------------------------------------------------


def _compose(path: Path, root: yaml.Node) -> tuple[list[EnvSource], list[str]]:
    dotenv = path.parent / ".env"
    interpolation = _Interpolation(dotenv)
    sources: list[EnvSource] = []
    services = _get(root, "services")
    for name_node, service in services.value if isinstance(services, yaml.MappingNode) else []:
        name = _scalar(name_node) or "?"
        group = f"compose {path} service {name}"
        environment = EnvSource(f"{path} (service {name}, environment)", group=group, rank=0)
        _pairs(path, _get(service, "environment"), environment, interpolation, f"service {name}, environment")
        sources.append(environment)
        files = _env_files(_get(service, "env_file"))
        for rank, (file_node, relative, required) in enumerate(reversed(files), start=1):
            local = path.parent / relative
            if not local.is_file():
                if required:
                    environment.reviews.append(
                        (
                            f"{path}:{file_node.start_mark.line + 1}",
                            f"env_file {relative} of service {name} cannot be"
                            " read: the values it sets are unknown (and compose would refuse to start without it)",
                        )
                    )
                continue
            label = f"{local} (env_file of service {name})"
            [one] = dotenv_group([(local, read_input(local, "an env file"))], group, label)
            one.rank = rank
            sources.append(one)
        build_args = EnvSource(f"{path} (service {name}, build.args)")
        _pairs(path, _get(_get(service, "build"), "args"), build_args, interpolation, f"service {name}, build.args")
        sources.append(build_args)
    notes = [f"{path}: ${{VAR}} interpolated from {dotenv}"] if interpolation.used else []
    return sources, notes


def _env_files(node: yaml.Node | None) -> list[tuple[yaml.Node, str, bool]]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node] if node is not None else []
    out: list[tuple[yaml.Node, str, bool]] = []
    for item in items:
        if isinstance(item, yaml.MappingNode):
            required = (_scalar(_get(item, "required")) or "true").lower() != "false"
            out.append((item, _scalar(_get(item, "path")) or "", required))
        elif _scalar(item):
            out.append((item, _scalar(item) or "", True))
    return out


class _Interpolation:
    """compose's `${VAR}` interpolation, from the `.env` of the project folder (read only when needed)."""

    def __init__(self, dotenv: Path) -> None:
        self.dotenv = dotenv
        self.values: dict[str, str | None] = {}
        self.used = False

    def __call__(self, raw: str) -> tuple[str | None, str]:
        names = references(raw.replace("$$", ""))
        missing = names - set(self.values)
        if missing and self.dotenv.is_file():
            self.used = True
            [found] = read_values([read_input(self.dotenv, "an env file")], missing)
            self.values.update({name: value for name, (value, _, _) in found.items()})
        value, unknown = expand(raw.replace("$$", "\0"), lambda name: self.values.get(name))
        return (None if value is None else value.replace("\0", "$")), unknown


def _pairs(path: Path, node: yaml.Node | None, source: EnvSource, interpolation: _Interpolation, what: str) -> None:
    """`KEY: value` (map) or `- KEY=value` (list) entries of `node` into `source`."""
    entries: list[tuple[yaml.Node, str, str | None]] = []
    if isinstance(node, yaml.MappingNode):
        entries = [
            (k, _scalar(k) or "", _scalar(v) if v.tag != "tag:yaml.org,2002:null" else None) for k, v in node.value
        ]
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            key, sep, value = (_scalar(item) or "").partition("=")
            entries.append((item, key.strip(), value if sep else None))
    for key_node, key, raw in entries:
        if key not in NAMES:
            continue
        where = f"{path}:{key_node.start_mark.line + 1} ({what}: {key})"
        if raw is None:
            source.values[key] = EnvValue(None, where, "is passed through from the shell that runs docker compose")
            continue
        interpolated, missing = interpolation(raw)
        reason = f"uses ${{{missing}}}, which the .env beside the compose file does not set (the deploying shell may)"
        source.values[key] = EnvValue(interpolated, where, "" if interpolated is not None else reason)


# Helm-style values -------------------------------------------------------------------------------


def _values(path: Path, nodes: list[yaml.Node]) -> list[EnvSource]:
    sources: list[EnvSource] = []

    def visit(node: yaml.Node, dotted: str) -> None:
        if isinstance(node, yaml.MappingNode):
            source = EnvSource(f"{path} ({dotted or 'top level'})")
            for key_node, value_node in node.value:
                key = _scalar(key_node) or ""
                if key in NAMES and isinstance(value_node, yaml.ScalarNode):
                    value = _scalar(value_node) or ""
                    where = f"{path}:{key_node.start_mark.line + 1} ({dotted}.{key})".replace("(.", "(")
                    templated = "{{" in value
                    source.values[key] = EnvValue(None if templated else value, where, "is a Helm template" * templated)
                else:
                    visit(value_node, f"{dotted}.{key}".lstrip("."))
            if source.values:
                sources.append(source)
        elif isinstance(node, yaml.SequenceNode):
            source = EnvSource(f"{path} ({dotted})")
            for index, item in enumerate(node.value):
                name, value_node = _scalar(_get(item, "name")), _get(item, "value")
                if name is not None and name in NAMES and isinstance(value_node, yaml.ScalarNode):
                    source.values[name] = EnvValue(
                        _scalar(value_node) or "", f"{path}:{item.start_mark.line + 1} ({dotted}[{index}])"
                    )
                else:
                    visit(item, f"{dotted}[{index}]")
            if source.values:
                sources.append(source)

    for node in nodes:
        visit(node, "")
    return sources


# YAML nodes --------------------------------------------------------------------------------------


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if _scalar(key_node) == key:
            return value_node  # type: ignore[no-any-return]
        if _scalar(key_node) == "<<":  # a merge key: the anchored mapping's entries count too
            for merged in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                found = _get(merged, key)
                if found is not None:
                    return found
    return None


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None
