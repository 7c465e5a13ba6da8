"""The ENV family: judging the real-time variables found in every source (read by `audit.env`).

- ENABLE must be exactly `true` in every source that sets it (the page compares strings), and set
  somewhere; a value that cannot be known is "review".
- The URL and PATH are judged as the build uses them: per group of layered sources, the value that
  wins (`.env.local` over `.env.production`; compose `environment:` over `env_file:`). A URL set
  nowhere means the page's own origin. A placeholder replaced at container start is "review".
- Sources must agree (PATH compared without a trailing slash, which engine.io-client normalises);
  a variable missing from one source is no finding (sources commonly split the set), PATH is
  optional, and a URL set nowhere is a warning (the origin is implicit). Each problem is reported by
  one check: a wrong or missing ENABLE is the first check's alone.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from realtime_verify import catalogue as c
from realtime_verify.audit.env import ENABLE, NAMES, PATH, URL, EnvSource, EnvValue
from realtime_verify.audit.files import shown
from realtime_verify.catalogue import Check
from realtime_verify.outcome import CheckResult, Finding, FindingSeverity

ENV_CHECKS = (c.ENV_001, c.ENV_002, c.ENV_003)
BUILD_TIME_NOTE = "NEXT_PUBLIC_* values are inlined at build time: rebuild and redeploy the web app after changing them"
# Tokens an entrypoint replaces at container start ("build once, deploy anywhere"), not URLs.
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|__\w+__|%\w+%|\{\{.*\}\}|<[^<>]+>|@\w+@|\$\{?\w+\}?")


class _Findings:
    def __init__(self, check: Check, checked: list[str]) -> None:
        self.check = check
        self.findings: list[Finding] = []
        self.checked = checked

    def add(self, severity: FindingSeverity, where: str, found: str, fix: str = "") -> None:
        finding = Finding(severity, where, found, fix)
        if finding not in self.findings:
            self.findings.append(finding)

    def result(self) -> CheckResult:
        return CheckResult.from_findings(self.check, self.findings, checked=self.checked)


def judge_env(
    sources: list[EnvSource],
    *,
    site_url: str | None,
    socket_path: str,
    allowed_hosts: list[str] | None = None,
    socket_url: str | None = None,
    notes: list[str] | None = None,
) -> list[CheckResult]:
    """The ENV checks over the sources that set at least one of the variables."""
    used = [s for s in sources if s.used()]
    checked = [s.label for s in used] + list(notes or [])
    if not used:
        reason = "no configured source sets NEXT_PUBLIC_* real-time variables"
        return [CheckResult.from_findings(check, [], checked=checked, skipped=reason) for check in ENV_CHECKS]
    enable, url, consistency = (_Findings(check, checked) for check in ENV_CHECKS)
    for source in used:
        for where, what in source.reviews:
            for collector in (enable, url, consistency):
                collector.add("review", where, what, "give that file too")
    _check_enable(enable, used)
    _check_url(url, used, site_url, socket_url, socket_path, allowed_hosts or [])
    _check_consistency(consistency, used, site_url)
    return [enable.result(), url.result(), consistency.result()]


def _check_enable(result: _Findings, sources: list[EnvSource]) -> None:
    fix = f"set {ENABLE}=true; {BUILD_TIME_NOTE}"
    defined = [s.values[ENABLE] for s in sources if ENABLE in s.values]
    if not defined:
        labels = ", ".join(s.label for s in sources)
        result.add("error", labels, f"{ENABLE} is set in no source: the page never opens its socket", fix)
    for value in defined:
        if value.value is None:
            result.add("review", value.where, _unknown(ENABLE, value), f"give that value too; {fix}")
        elif value.value != "true":
            result.add(
                "error",
                value.where,
                f"{ENABLE} is {shown(value.value)}, not 'true': the page compares the string with 'true',"
                " so it never opens its socket",
                fix,
            )


def effective(sources: list[EnvSource]) -> list[tuple[EnvSource, dict[str, EnvValue]]]:
    """Per group of layered sources, the value of each variable that wins (the lowest rank)."""
    groups: dict[str, list[EnvSource]] = {}
    for index, source in enumerate(sources):
        groups.setdefault(source.group or f"#{index}", []).append(source)
    out = []
    for members in groups.values():
        members.sort(key=lambda s: s.rank)
        winning: dict[str, EnvValue] = {}
        for source in members:
            for name, value in source.values.items():
                winning.setdefault(name, value)
        out.append((members[0], winning))
    return out


def _check_url(
    result: _Findings,
    sources: list[EnvSource],
    site_url: str | None,
    socket_url: str | None,
    socket_path: str,
    allowed: list[str],
) -> None:
    site = urlsplit(site_url) if site_url else None
    socket_host = urlsplit(socket_url).hostname if socket_url else None
    hosts = {h for h in (site.hostname if site else None, socket_host, *allowed) if h}
    expected = "/" + socket_path.strip("/")
    for _, values in effective(sources):
        path = values.get(PATH)
        if path is not None:
            _judge_path(result, path, expected)
        value = values.get(URL)
        if value is not None:
            _judge_url(result, value, site, hosts, expected)
    if site is None:
        result.checked.append("no site URL given: scheme and host not judged (--site or config_files.site_url)")
    elif not any(URL in s.values for s in sources) and socket_host and socket_host != site.hostname:
        result.add(
            "error",
            ", ".join(s.label for s in sources),
            f"{URL} is set in no source, so the page connects to its own origin ({site_url}), but the socket is"
            f" served at {socket_url}",
            f"set {URL}={socket_url}; {BUILD_TIME_NOTE}",
        )


def _judge_path(result: _Findings, value: EnvValue, expected: str) -> None:
    if value.value is None:
        result.add("review", value.where, _unknown(PATH, value), "give that value too")
    elif PLACEHOLDER.fullmatch(value.value.strip()):
        result.add(
            "review", value.where, _placeholder(PATH, value.value), f"check the path the page opens ({c.RT_001})"
        )
    elif value.value.strip() and "/" + value.value.strip().strip("/") != expected:
        result.add(
            "error",
            value.where,
            f"{PATH} is {shown(value.value)} but the socket is served at {expected}/ (target.socket_path):"
            f" the page requests {value.value.strip().rstrip('/')}/?EIO=4..., which nginx does not route to the app",
            f"set {PATH}={expected}; {BUILD_TIME_NOTE}",
        )


def _judge_url(result: _Findings, value: EnvValue, site: SplitResult | None, hosts: set[str], expected: str) -> None:
    if value.value is None:
        result.add(
            "review",
            value.where,
            _unknown(URL, value) + ": its scheme and host cannot be judged",
            "give the build's arguments or environment (compose file, CI config) to decide",
        )
        return
    raw = value.value.strip()
    if not raw:
        return  # an empty value is the consistency check's finding
    if PLACEHOLDER.fullmatch(raw):
        result.add(
            "review",
            value.where,
            _placeholder(URL, raw),
            f"give the runtime source, or check the URL the page opens ({c.RT_001})",
        )
        return
    parts = urlsplit(raw)
    if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
        result.add(
            "error",
            value.where,
            f"{URL} {shown(raw)} is not a ws(s):// or http(s):// URL",
            f"use wss://<host>; {BUILD_TIME_NOTE}",
        )
        return
    site_parts = site
    if site_parts is not None and site_parts.scheme == "https" and parts.scheme in ("ws", "http"):
        secure = raw.replace(parts.scheme + "://", "wss://", 1)
        result.add(
            "error",
            value.where,
            f"{URL} is {shown(raw)} on an https site: browsers block it as mixed content",
            f"use {shown(secure)}; {BUILD_TIME_NOTE}",
        )
    if site_parts is not None and parts.hostname not in hosts:
        result.add(
            "error",
            value.where,
            f"{URL} points at {shown(parts.hostname)}, not the site's host {site_parts.hostname}"
            + (
                f" or an allowed one ({', '.join(sorted(hosts - {site_parts.hostname or ''}))})"
                if len(hosts) > 1
                else ""
            ),
            "point it at the site (or list the socket host in config_files.allowed_hosts)",
        )
    if parts.path not in ("", "/") and parts.path.rstrip("/") != expected:
        result.add(
            "error",
            value.where,
            f"{URL} has the path {shown(parts.path)}: socket.io-client takes a URL's path as the namespace to"
            " join, not as the socket path, so it asks for that namespace and is refused",
            f"put only the origin in {URL} and the path in {PATH}; {BUILD_TIME_NOTE}",
        )


def _unknown(name: str, value: EnvValue) -> str:
    return f"{name} is not known from what was given ({value.unknown})"


def _placeholder(name: str, value: str) -> str:
    return (
        f"{name} is {shown(value)}, a placeholder that the container replaces at start, so the value the"
        " browser gets is in the runtime environment, which was not given"
    )


def _check_consistency(result: _Findings, sources: list[EnvSource], site_url: str | None) -> None:
    for source in sources:
        for where, problem in source.problems:
            result.add("error", where, problem, "store base64 of the exact value (echo -n 'true' | base64)")
    for name in (URL, PATH):
        defined = [s.values[name] for s in sources if name in s.values and s.values[name].value is not None]
        for value in defined:
            if not str(value.value).strip():
                result.add(
                    "error", value.where, f"{name} is empty", f"give it a value, or remove it; {BUILD_TIME_NOTE}"
                )
        known = [v for v in defined if str(v.value).strip()]
        distinct = {_normal(name, str(v.value)) for v in known}
        if len(distinct) > 1:
            listing = "; ".join(f"{shown(str(v.value))} at {v.where}" for v in known)
            result.add(
                "error",
                known[0].where,
                f"{name} differs between sources: {listing}",
                f"make every source agree (the build uses one of them); {BUILD_TIME_NOTE}",
            )
    if not any(URL in s.values for s in sources):
        origin = f" ({site_url})" if site_url else ""
        result.add(
            "warning",
            ", ".join(s.label for s in sources),
            f"{URL} is set in no source: the page connects to its own origin{origin}. That works while nginx"
            " routes the socket path on the site's host, but nothing here says so",
            f"set {URL}=wss://<site host> to make it explicit",
        )


def _normal(name: str, value: str) -> str:
    value = value.strip()
    return "/" + value.strip("/") if name == PATH else value.rstrip("/")


__all__ = ["ENV_CHECKS", "NAMES", "judge_env"]
