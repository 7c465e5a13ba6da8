"""The values the ENV family judges: where each real-time variable is set, or why it is unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ENABLE = "NEXT_PUBLIC_ENABLE_WEBSOCKETS"
URL = "NEXT_PUBLIC_WEBSOCKET_URL"
PATH = "NEXT_PUBLIC_WEBSOCKET_PATH"
NAMES = (ENABLE, URL, PATH)
# The files `next build` loads, first wins (Next.js environment variables docs).
NEXT_BUILD_ORDER = (".env.production.local", ".env.local", ".env.production", ".env")
KIND_LABELS = {
    "dotenv": "an env file",
    "compose": "a docker-compose file",
    "k8s": "a Kubernetes manifest",
    "values": "a Helm-style values file",
    "dockerfile": "a Dockerfile",
}


@dataclass(frozen=True)
class EnvValue:
    """A variable's value where it is set; `value` None: unknown from what was given (`unknown` says why)."""

    value: str | None
    where: str
    unknown: str = ""


@dataclass
class EnvSource:
    """One place the variables are set: a file, a compose service, a manifest object, a build stage."""

    label: str
    values: dict[str, EnvValue] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (where, what): undecodable values
    reviews: list[tuple[str, str]] = field(default_factory=list)  # (where, what): parts that cannot be read
    group: str = ""  # sources of one group layer over each other ("" : on its own)
    rank: int = 0  # within a group, the lower rank wins

    def used(self) -> bool:
        return bool(self.values or self.problems or self.reviews)


@dataclass
class EnvInput:
    """What one input file gave: its kind, its sources, and remarks for the report."""

    path: Path
    kind: str
    sources: list[EnvSource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def used(self) -> bool:
        return any(source.used() for source in self.sources)
