"""Loading a target profile: the TOML file, then `RV_*` env vars, then `--set`; errors in one line.

Each error names the key, where its value came from, what is wrong, and the closest valid key or
value ("Did you mean 'base_url'?").
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from realtime_verify.config.schema import SECTIONS, Profile, Section
from realtime_verify.errors import ConfigError

ENV_PREFIX = "RV_"
MAX_PROFILE_BYTES = 1_000_000


def load_profile(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Profile:
    """Load and validate a profile: file, then `RV_*` env vars, then `section.key=value` overrides."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    origins: dict[str, str] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        for section, values in _read_toml(path).items():
            raw[section].update(values)
            origins.update({f"{section}.{key}": "file" for key in values})
        _resolve_files(raw["config_files"], raw["target"], path.parent)
    for section_name, section_type in SECTIONS.items():
        for key in section_type.model_fields:
            env_name = f"{ENV_PREFIX}{section_name}_{key}".upper()
            if env_name in env:
                raw[section_name][key] = _from_text(env[env_name], section_type, key)
                origins[f"{section_name}.{key}"] = env_name
    for dotted, value in (overrides or {}).items():
        section_name, key = _split_key(dotted, "--set")
        raw[section_name][key] = _from_text(value, SECTIONS[section_name], key)
        origins[dotted] = "--set"
    try:
        return Profile.model_validate({**raw, "source": source, "origins": origins})
    except ValidationError as error:
        raise ConfigError(_explain(error, origins, path)) from None


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"profile {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"cannot read profile {path}: {error.strerror}") from None
    if len(data) > MAX_PROFILE_BYTES:
        raise ConfigError(f"profile {path} is {len(data)} bytes; a profile is at most {MAX_PROFILE_BYTES} bytes")
    try:
        # utf-8-sig: editors on Windows start files with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"profile {path} is not UTF-8 (byte {error.start}): save it as UTF-8") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    result: dict[str, dict[str, Any]] = {}
    for section, values in parsed.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}].{_suggest(section, SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section} must be a table, [{section}]")
        known = SECTIONS[section].model_fields
        for key in values:
            if key not in known:
                raise ConfigError(
                    f"{path}: unknown key {section}.{key}.{_suggest(key, known)}"
                    f" Valid keys of [{section}]: {', '.join(sorted(known))}"
                )
        result[section] = values
    return result


def _resolve_files(files: dict[str, Any], target: dict[str, Any], folder: Path) -> None:
    """Relative paths in a profile file are relative to the file's folder, not the working directory."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(folder / value)
        return value

    for key in ("env", "k8s"):
        if isinstance(files.get(key), list):
            files[key] = [resolve(item) for item in files[key]]
    for key in ("nginx", "nginx_root"):
        if key in files:
            files[key] = resolve(files[key])
    if isinstance(files.get("nginx_path_map"), dict):
        files["nginx_path_map"] = {k: resolve(v) for k, v in files["nginx_path_map"].items()}
    if "ca_file" in target:
        target["ca_file"] = resolve(target["ca_file"])


def _split_key(dotted: str, where: str) -> tuple[str, str]:
    section, _, key = dotted.partition(".")
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown section {section!r}.{_suggest(section, SECTIONS)}")
    known = SECTIONS[section].model_fields
    if key not in known:
        raise ConfigError(
            f"{where}: unknown key {section}.{key}.{_suggest(key, known)} Valid keys: {', '.join(sorted(known))}"
        )
    return section, key


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _from_text(text: str, section: type[Section], key: str) -> Any:
    """An env var or --set string, shaped for the field: lists and tables from JSON or commas."""
    text = text.strip()
    annotation = str(section.model_fields[key].annotation)
    if text == "" and "None" in annotation:
        return None
    if annotation.startswith(("list", "dict")):
        if text.startswith(("[", "{")):
            try:
                return json.loads(text)
            except ValueError:
                pass  # validation says what is wrong with it
        items = [item.strip() for item in text.split(",") if item.strip()]
        if annotation.startswith("dict"):
            return dict(item.partition("=")[::2] for item in items) if all("=" in i for i in items) else text
        return items
    return text


def _explain(error: ValidationError, origins: dict[str, str], path: Path | None) -> str:
    """The first validation error as one sentence: key, origin, what is wrong, the valid values."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    dotted = ".".join(location)
    origin = origins.get(".".join(location[:2]), "")  # a list item's origin is its key's
    where = f"{dotted} (from {origin})" if origin and origin != "file" else dotted
    if origin == "file" and path is not None:
        where = f"{path}: {dotted}"
    value = first.get("input")
    kind = first["type"]
    if kind == "extra_forbidden" and len(location) == 2:
        known = SECTIONS[location[0]].model_fields
        return f"unknown key {dotted}.{_suggest(location[1], known)} Valid keys: {', '.join(sorted(known))}"
    if kind == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        close = _suggest(str(value), [part.strip(" '") for part in expected.replace(" or ", ",").split(",")])
        return f"{where} must be one of {expected}, got {value!r}.{close}"
    messages = {
        "float_parsing": "a number",
        "float_type": "a number",
        "int_parsing": "a whole number",
        "int_type": "a whole number",
        "int_from_float": "a whole number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list of strings",
        "dict_type": "a table of strings",
    }
    if kind in messages:
        return f"{where} must be {messages[kind]}, got {value!r}"
    return f"{where}: {first['msg'].removeprefix('Value error, ')} (got {value!r})"


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`--set section.key=value` items as a dict; a malformed item is a ConfigError."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. budgets.chat_p95_ms=200")
        overrides[key.strip()] = value
    return overrides


def profile_from_target_option(
    target: str | None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Profile:
    """`--target` takes a profile file or a URL (which sets target.base_url)."""
    overrides = dict(overrides or {})
    path: Path | None = None
    url_from_option = False
    if target:
        if "://" in target and urlsplit(target).scheme not in ("http", "https"):
            raise ConfigError(f"--target {target!r}: a target URL is the site's http:// or https:// URL")
        if "://" in target:
            if "target.base_url" in overrides and overrides["target.base_url"] != target:
                raise ConfigError(
                    f"--target {target} and --set target.base_url={overrides['target.base_url']} disagree: give one"
                )
            url_from_option = True
            overrides["target.base_url"] = target
        else:
            path = Path(target)
            if path.suffix != ".toml" and not path.exists():
                raise ConfigError(f"--target {target!r} is neither a URL (https://...) nor a profile file (.toml)")
    profile = load_profile(path, env=env, overrides=overrides)
    if url_from_option:
        profile.origins["target.base_url"] = "--target"
    return profile


def describe(profile: Profile) -> list[str]:
    """The effective non-default settings, one `section.key = value (origin)` line each."""
    lines = []
    for name, section_type in SECTIONS.items():
        section = getattr(profile, name)
        defaults = section_type()
        for key in section_type.model_fields:
            value = getattr(section, key)
            if value != getattr(defaults, key):
                origin = profile.origins.get(f"{name}.{key}", "")
                lines.append(f"{name}.{key} = {value!r}" + (f"  ({origin})" if origin else ""))
    return lines
