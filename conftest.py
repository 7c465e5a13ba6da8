"""Loads the realtime-verify pytest plugin for this repository's tests (tests/e2e is the suite)."""

pytest_plugins = ["realtime_verify.plugin"]
