"""Reports built from results alone (no run): a helper shared by the reporting tests."""

from __future__ import annotations

import time
from typing import Any

from realtime_verify.outcome import CheckResult
from realtime_verify.reporting.summary import RunReport


def make_report(results: list[CheckResult], **values: Any) -> RunReport:
    """A RunReport as the plugin builds one; `values` override the defaults."""
    arguments: dict[str, Any] = {
        "run_id": "abc123",
        "started": time.time() - 42,
        "run_profile": "signoff",
        "target": "https://app.example.com",
        "embedded": False,
        "faults": [],
        "settings": ["budgets.chat_p95_ms = 200.0  (--set)"],
        "capabilities": ["chat: direct", "heartbeat: True", "resync: False"],
        "browser": "Chromium 156",
        "results": results,
        "values": {"target_ready_s": 1.2},
        "exit_status": 0,
    }
    arguments.update(values)
    return RunReport.build(**arguments)
