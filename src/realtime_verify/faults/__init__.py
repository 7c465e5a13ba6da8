"""Client-side faults: they act only on the suite's own connections, so they are safe against any
target, production included. `browser` cuts a page's socket (Playwright routing, offline emulation);
`network` puts a local TCP proxy between a watcher and the target. The embedded stack's faults (the
edge, nginx and backend restarts) are `realtime_verify.stack`'s.
"""
