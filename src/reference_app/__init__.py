"""The reference app: a small, faithful implementation of the real-time design realtime-verify checks.

It imports nothing from the harness; the harness starts it as a process (`python -m reference_app`).
"""
