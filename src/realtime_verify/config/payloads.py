"""Reading and building event payloads the profile describes: dotted paths and JSON templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from realtime_verify.errors import ConfigError


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path of a payload ("" : the payload itself); None when absent."""
    for part in filter(None, path.split(".")):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def fill_template(template: str, values: Mapping[str, Any], where: str) -> Any:
    """A JSON payload template with `{name}` placeholders filled; a placeholder alone keeps its type."""
    try:
        shape = json.loads(template)
    except ValueError as error:
        raise ConfigError(f"{where} is not valid JSON: {error} (got {template!r})") from None

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            for name, value in values.items():
                if node == "{" + name + "}":
                    return value
            for name, value in values.items():
                node = node.replace("{" + name + "}", str(value))
            return node
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(item) for key, item in node.items()}
        return node

    return fill(shape)
