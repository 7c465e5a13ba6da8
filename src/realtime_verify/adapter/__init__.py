"""How the suite meets an app it has never seen: the adapter interface, capabilities, loading.

    AppAdapter       the operations checks need (base.py)
    ContractAdapter  the default: the app as its target profile describes it (contract.py)
    Capabilities     what an app has; each check's needs are matched against it (capabilities.py)

`load_adapter()` returns the adapter the profile names (`[app] adapter = "package.module:Class"`),
else the contract adapter.
"""

from __future__ import annotations

import importlib

from realtime_verify.adapter.base import AppAdapter, Item, ItemUpdate, TestUser, WatcherLogin
from realtime_verify.adapter.capabilities import Capabilities, TargetFacts, skip_reason
from realtime_verify.adapter.contract import ContractAdapter
from realtime_verify.errors import ConfigError
from realtime_verify.target import Target

__all__ = [
    "AppAdapter",
    "Capabilities",
    "ContractAdapter",
    "Item",
    "ItemUpdate",
    "TargetFacts",
    "TestUser",
    "WatcherLogin",
    "load_adapter",
    "skip_reason",
]


def load_adapter(target: Target) -> AppAdapter:
    """The adapter for `target`: the class `[app] adapter` names, else the contract adapter."""
    spec = target.profile.app.adapter
    if not spec:
        return ContractAdapter(target)
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"app.adapter must be 'package.module:Class', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"app.adapter {spec!r}: cannot import {module_name!r} ({error}); is its folder on PYTHONPATH?"
        ) from None
    adapter_class = getattr(module, class_name, None)
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, AppAdapter)):
        raise ConfigError(f"app.adapter {spec!r}: {class_name} is not an AppAdapter subclass in {module_name}")
    adapter: AppAdapter = adapter_class(target)
    return adapter
