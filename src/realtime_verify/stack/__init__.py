"""The embedded target: the reference app behind real nginx and an edge emulator, on loopback.

client.py      EmbeddedStack: starts the supervisor process and drives its control API
supervisor.py  the process that owns the app, nginx, the edge and the temp folder
control.py     the supervisor's control API (faults, restarts) and the emulated zone's API
settings.py    StackConfig, Timers, StackInfo
faults.py      the one catalogue of faults, folded into typed settings per layer
edge.py        the edge emulator (TLS, cf-ray, drops, black holes, challenges, cache)
zone.py        the one fake Cloudflare API, driven by the scenario files in zones/
nginx.py       rendering the reference nginx conf, with nginx faults as edits of its parse tree
"""

from realtime_verify.stack.client import EmbeddedStack
from realtime_verify.stack.settings import StackConfig, StackInfo, Timers

__all__ = ["EmbeddedStack", "StackConfig", "StackInfo", "Timers"]
