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
from realtime_verify.audit.env import (
    KIND_LABELS,
    NAMES,
    EnvInput,
    group_next_build,
    read_env_input,
    read_process_env,
)
from realtime_verify.audit.nginx import load
from realtime_verify.checks.cloudflare import CF_CHECKS, judge_zone
from realtime_verify.checks.env import ENV_CHECKS, judge_env
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
    # Other absolute folders of the nginx server and the local folders that stand for them.
    nginx_path_map: dict[str, Path] = field(default_factory=dict)
    site_url: str | None = None
    socket_url: str | None = None  # the socket's public origin, when it is not the site's
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
            nginx_path_map={folder: Path(local) for folder, local in files.nginx_path_map.items()},
            site_url=files.site_url or profile.target.base_url,
            socket_url=profile.target.socket_url,
            cloudflare=zone_configured if cloudflare is None else cloudflare,
        )


def env_inputs(inputs: AuditInputs) -> list[EnvInput]:
    """Every env-style input read by its kind (whichever option named it), .env layers grouped.

    An input that yields none of the variables is said to; when it is the only input, that is a
    usage error (most likely the wrong file was given), not a verdict on the app.
    """
    read = [read_env_input(path) for path in [*inputs.env_files, *inputs.k8s]]
    group_next_build(read)
    if len(read) == 1 and not read[0].used():
        only = read[0]
        raise UsageError(
            f"{only.path} (read as {KIND_LABELS[only.kind]}) sets none of {', '.join(NAMES)}: give the file that"
            " sets them (.env.production, the compose file or manifest of the web app, its Dockerfile)"
        )
    for one in read:
        if not one.used():
            one.notes.append(f"{one.path} (read as {KIND_LABELS[one.kind]}) sets none of the real-time variables")
    return read


def run_env(profile: Profile, inputs: AuditInputs, process_env: Mapping[str, str] | None = None) -> list[CheckResult]:
    read = env_inputs(inputs)
    sources = [source for one in read for source in one.sources]
    sources.append(read_process_env(os.environ if process_env is None else process_env))
    if not read and not sources[-1].used():
        reason = f"no env file or manifest given (--env-file, --k8s): {c.Need.ENV_SOURCES}"
        return [CheckResult.from_findings(check, [], skipped=reason) for check in ENV_CHECKS]
    return judge_env(
        sources,
        site_url=inputs.site_url,
        socket_path=profile.socket_path,
        allowed_hosts=profile.config_files.allowed_hosts,
        socket_url=inputs.socket_url,
        notes=[note for one in read for note in one.notes],
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
    site = SiteFacts.from_url(inputs.socket_url or inputs.site_url, origin_refused)
    conf = load(inputs.nginx, nginx_root=inputs.nginx_root, path_map=inputs.nginx_path_map)
    return judge_nginx(conf, str(inputs.nginx), profile.socket_path, interval + timeout, source, site)


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
