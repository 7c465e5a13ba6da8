"""Running the static audit: env vars, the nginx proxy block and the Cloudflare zone, read-only.

Used by `realtime-verify audit` and by the suite's ENV/NGX/CF checks; inputs come from the
profile's [config_files] and [cloudflare] sections, or from the command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from realtime_verify import catalogue as c
from realtime_verify.audit.cloudflare import read_zone
from realtime_verify.audit.env import EnvSource, read_env_file, read_k8s, read_process_env
from realtime_verify.audit.nginx import load
from realtime_verify.checks.cloudflare import CF_CHECKS, judge_zone
from realtime_verify.checks.env import judge_env
from realtime_verify.checks.nginx import NGX_CHECKS, SiteFacts, judge_nginx
from realtime_verify.config import Profile
from realtime_verify.errors import UsageError
from realtime_verify.outcome import CheckResult


@dataclass
class AuditInputs:
    """What to audit; empty fields fall back to the profile."""

    env_files: list[Path] = field(default_factory=list)
    k8s: list[Path] = field(default_factory=list)
    nginx: Path | None = None
    nginx_root: Path | None = None  # the folder that stands for /etc/nginx (absolute includes)
    site_url: str | None = None
    cloudflare: bool = False
    zone: str | None = None

    @classmethod
    def from_profile(cls, profile: Profile, *, cloudflare: bool | None = None) -> AuditInputs:
        files = profile.config_files
        zone_configured = bool(profile.cloudflare.zone_id or profile.cloudflare.zone_name)
        return cls(
            env_files=[Path(p) for p in files.env],
            k8s=[Path(p) for p in files.k8s],
            nginx=Path(files.nginx) if files.nginx else None,
            nginx_root=Path(files.nginx_root) if files.nginx_root else None,
            site_url=files.site_url or profile.target.base_url,
            cloudflare=zone_configured if cloudflare is None else cloudflare,
        )


def env_sources(inputs: AuditInputs, process_env: Mapping[str, str]) -> list[EnvSource]:
    sources = [read_env_file(path) for path in inputs.env_files]
    for path in inputs.k8s:
        sources.extend(read_k8s(path))
    sources.append(read_process_env(process_env))
    return sources


def run_env(profile: Profile, inputs: AuditInputs, process_env: Mapping[str, str] | None = None) -> list[CheckResult]:
    sources = env_sources(inputs, os.environ if process_env is None else process_env)
    return judge_env(
        sources,
        site_url=inputs.site_url,
        socket_path=profile.socket_path,
        allowed_hosts=profile.config_files.allowed_hosts,
    )


def run_nginx(
    profile: Profile,
    inputs: AuditInputs,
    ping: tuple[float, float, str] | None = None,
    origin_refused: str | None = None,
) -> list[CheckResult]:
    """NGX-*; `ping` is (interval, timeout, where from), the profile's budgets when not given;
    `origin_refused` what a live handshake with the site's Origin answered when it was refused."""
    if inputs.nginx is None:
        reason = f"no nginx conf given (--nginx or config_files.nginx): {c.Need.NGINX_CONF}"
        return [CheckResult.from_findings(check, [], skipped=reason) for check in NGX_CHECKS]
    interval, timeout, source = ping or (
        profile.budgets.ping_interval_s,
        profile.budgets.ping_timeout_s,
        "budgets.ping_interval_s + ping_timeout_s",
    )
    site = SiteFacts.from_url(inputs.site_url, origin_refused)
    return judge_nginx(load(inputs.nginx), str(inputs.nginx), profile.socket_path, interval + timeout, source, site)


def run_cloudflare(
    profile: Profile, inputs: AuditInputs, process_env: Mapping[str, str] | None = None
) -> list[CheckResult]:
    if not inputs.cloudflare:
        reason = "no Cloudflare zone configured ([cloudflare] zone_id or zone_name)"
        return [CheckResult.from_findings(check, [], skipped=reason) for check in CF_CHECKS]
    env = os.environ if process_env is None else process_env
    settings = profile.cloudflare
    token = env.get(settings.token_env)
    if not token:
        raise UsageError(
            f"the Cloudflare audit reads the API token from ${settings.token_env}, which is not set"
            " (a read-only token: Zone Read, Zone Settings Read, Zone WAF Read, Config Rules Read, ...)"
        )
    site = inputs.site_url or profile.target.base_url
    if not site:
        raise UsageError(
            "the Cloudflare audit needs the site's URL (--site or config_files.site_url or target.base_url)"
        )
    zone_id, zone_name = settings.zone_id, settings.zone_name
    if inputs.zone:
        zone_id, zone_name = (
            (inputs.zone, None) if len(inputs.zone) == 32 and "." not in inputs.zone else (None, inputs.zone)
        )
    zone = read_zone(
        token=token, token_env=settings.token_env, zone_id=zone_id, zone_name=zone_name, base_url=settings.api_base_url
    )
    return judge_zone(zone, urlsplit(site).hostname or "", profile.socket_path)


def run_audit(
    profile: Profile,
    inputs: AuditInputs,
    *,
    ping: tuple[float, float, str] | None = None,
    process_env: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    if not (inputs.env_files or inputs.k8s or inputs.nginx or inputs.cloudflare):
        raise UsageError(
            "nothing to audit: give --env-file, --k8s, --nginx or --cloudflare, or a --target profile whose"
            " [config_files] and [cloudflare] sections name them"
        )
    return (
        run_env(profile, inputs, process_env)
        + run_nginx(profile, inputs, ping)
        + run_cloudflare(profile, inputs, process_env)
    )
