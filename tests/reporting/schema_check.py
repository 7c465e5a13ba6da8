"""Validation of summary.json and history.jsonl against the shipped schema, for tests."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema


def schema() -> dict[str, Any]:
    text = resources.files("realtime_verify.reporting").joinpath("summary.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def summary_errors(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def history_errors(line: Any) -> list[str]:
    full = schema()
    validator = jsonschema.Draft202012Validator({**full["$defs"]["historyLine"], "$defs": full["$defs"]})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(line)]


def validate_folder(folder: Path) -> None:
    """Every report file a run wrote to `folder` is what the schema says."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary_errors(summary) == []
    for line in (folder / "history.jsonl").read_text(encoding="utf-8").splitlines():
        assert history_errors(json.loads(line)) == []
