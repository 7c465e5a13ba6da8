"""The target profile: how the suite adapts to an app it has never seen.

Every setting resolves, in this order: the command line (`--set section.key=value`), the environment
(`RV_SECTION_KEY`), the profile file (TOML), the default. The defaults are the reference app's
contract, so an app that follows it needs a profile of a few lines; an app shaped differently says
so in `[app]`, `[auth]`, `[ui]`, `[events]` and `[items]`, or names its own adapter class. Secrets are
never in the file: it names the environment variables that hold them.

    schema.py    the sections (pydantic models): every key, its type, default and meaning
    load.py      file → env → --set, validated, errors in one line with "did you mean"
    payloads.py  dotted paths into received payloads, JSON templates for emitted ones
"""

from realtime_verify.config.load import (
    ENV_PREFIX,
    describe,
    load_profile,
    parse_overrides,
    profile_from_target_option,
)
from realtime_verify.config.payloads import fill_template, get_path
from realtime_verify.config.schema import (
    SECTIONS,
    AuthMode,
    ChatModel,
    ItemsKind,
    Profile,
    Section,
)

__all__ = [
    "ENV_PREFIX",
    "SECTIONS",
    "AuthMode",
    "ChatModel",
    "ItemsKind",
    "Profile",
    "Section",
    "describe",
    "fill_template",
    "get_path",
    "load_profile",
    "parse_overrides",
    "profile_from_target_option",
]
