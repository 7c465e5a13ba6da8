"""Loads the realtime-verify pytest plugin for this repository's tests (tests/e2e is the suite),
and pytester, with which tests/unit tests the plugin."""

pytest_plugins = ["realtime_verify.plugin", "pytester"]
