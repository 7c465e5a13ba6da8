"""Checks as plain functions: each takes an observation and raises CheckFailure when it fails.

`handshake` probes the socket endpoint over HTTP; `realtime` judges what the in-page
instrumentation saw. The tests in tests/e2e gather the observations and call these.
"""
