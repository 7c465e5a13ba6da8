"""realtime-verify: end-to-end verification of a Socket.IO real-time layer behind Cloudflare and nginx.

The harness is usable without pytest (`EmbeddedStack`, `load_profile`, the checks); `plugin.py`
makes it a pytest suite and `cli.py` the `realtime-verify` command.
"""

from realtime_verify.config import Profile, load_profile
from realtime_verify.errors import CheckFailure, RealtimeVerifyError
from realtime_verify.stack import EmbeddedStack, StackConfig, Timers

__all__ = [
    "CheckFailure",
    "EmbeddedStack",
    "Profile",
    "RealtimeVerifyError",
    "StackConfig",
    "Timers",
    "load_profile",
]
__version__ = "0.1.0"
