"""ENV-*: judging the real-time variables found in every source (read by `audit.env`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from realtime_verify import catalogue as c
from realtime_verify.audit.env import ENABLE, NAMES, PATH, URL, EnvSource
from realtime_verify.catalogue import Check
from realtime_verify.outcome import CheckResult, Finding, FindingSeverity

ENV_CHECKS = (c.ENV_001, c.ENV_002, c.ENV_003)
BUILD_TIME_NOTE = "NEXT_PUBLIC_* values are inlined at build time: rebuild and redeploy the web app after changing them"


class _Findings:
    def __init__(self, check: Check) -> None:
        self.check = check
        self.findings: list[Finding] = []
        self.checked: list[str] = []

    def add(self, severity: FindingSeverity, where: str, found: str, fix: str = "") -> None:
        self.findings.append(Finding(severity, where, found, fix))

    def result(self) -> CheckResult:
        return CheckResult.from_findings(self.check, self.findings, checked=self.checked)


def judge_env(
    sources: list[EnvSource],
    *,
    site_url: str | None,
    socket_path: str,
    allowed_hosts: list[str] | None = None,
) -> list[CheckResult]:
    """ENV-001..003 over the sources that set at least one of the variables."""
    used = [s for s in sources if s.values or s.problems]
    if not used:
        reason = "no configured source sets NEXT_PUBLIC_* real-time variables"
        checked = [s.label for s in sources]
        return [CheckResult.from_findings(check, [], checked=checked, skipped=reason) for check in ENV_CHECKS]
    enable, url, consistency = (_Findings(check) for check in ENV_CHECKS)
    for collector in (enable, url, consistency):
        collector.checked = [s.label for s in used]
    _check_enable(enable, used)
    _check_url(url, used, site_url, socket_path, allowed_hosts or [])
    _check_consistency(consistency, used)
    return [enable.result(), url.result(), consistency.result()]


def _check_enable(result: _Findings, sources: list[EnvSource]) -> None:
    defined = [s.values[ENABLE] for s in sources if ENABLE in s.values]
    if not defined:
        result.add(
            "error",
            ", ".join(s.label for s in sources),
            f"{ENABLE} is set in no source: the page never opens its socket",
            f"set {ENABLE}=true; {BUILD_TIME_NOTE}",
        )
    for value in defined:
        if value.value.strip() != "true":
            result.add(
                "error",
                value.where,
                f"{ENABLE} is {value.value!r}, not 'true': the app compares with the string 'true'",
                f"set {ENABLE}=true; {BUILD_TIME_NOTE}",
            )


def _check_url(
    result: _Findings, sources: list[EnvSource], site_url: str | None, socket_path: str, allowed: list[str]
) -> None:
    site = urlsplit(site_url) if site_url else None
    expected_path = "/" + socket_path.strip("/")
    for source in sources:
        path_value = source.values.get(PATH)
        page_path = "/" + (
            path_value.value.strip().strip("/") if path_value and path_value.value.strip() else "socket.io"
        )
        if path_value and path_value.value.strip() and page_path != expected_path:
            result.add(
                "error",
                path_value.where,
                f"{PATH} is {path_value.value!r} but the socket is served at {expected_path}/ (target.socket_path)",
                f"set {PATH}={expected_path}; {BUILD_TIME_NOTE}",
            )
        value = source.values.get(URL)
        if value is None or not value.value.strip():
            continue
        raw = value.value.strip()
        parts = urlsplit(raw)
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
            result.add(
                "error",
                value.where,
                f"{URL} {raw!r} is not a ws(s):// or http(s):// URL",
                f"use wss://<host>; {BUILD_TIME_NOTE}",
            )
            continue
        if site is not None and site.scheme == "https" and parts.scheme in ("ws", "http"):
            result.add(
                "error",
                value.where,
                f"{URL} is {raw!r} on an https site: browsers block it as mixed content",
                f"use {raw.replace(parts.scheme + '://', 'wss://', 1)}; {BUILD_TIME_NOTE}",
            )
        if site is not None and parts.hostname != site.hostname and parts.hostname not in allowed:
            result.add(
                "error",
                value.where,
                f"{URL} points at {parts.hostname}, not the site's host {site.hostname}"
                + (f" or an allowed one ({', '.join(allowed)})" if allowed else ""),
                "point it at the site (or list the socket host in config_files.allowed_hosts)",
            )
        url_path = parts.path.rstrip("/")
        if url_path and url_path != page_path.rstrip("/"):
            result.add(
                "error",
                value.where,
                f"{URL} has the path {parts.path!r}, which differs from {PATH} ({page_path}):"
                " socket.io-client takes a URL path as a namespace, not as the socket path",
                f"put only the origin in {URL} and the path in {PATH}; {BUILD_TIME_NOTE}",
            )
    if site is None:
        result.checked.append("no site URL given: scheme and host not judged (--site or config_files.site_url)")


def _check_consistency(result: _Findings, sources: list[EnvSource]) -> None:
    for source in sources:
        for where, problem in source.problems:
            result.add("error", where, problem, "store base64 of the exact value (echo -n 'true' | base64)")
    for name in NAMES:
        defined = [s.values[name] for s in sources if name in s.values]
        for value in defined:
            if not value.value.strip():
                result.add(
                    "error", value.where, f"{name} is empty", f"give it a value, or remove it; {BUILD_TIME_NOTE}"
                )
        distinct = {v.value.strip() for v in defined if v.value.strip()}
        if len(distinct) > 1:
            listing = "; ".join(f"{v.value!r} at {v.where}" for v in defined)
            result.add(
                "error",
                defined[0].where,
                f"{name} differs between sources: {listing}",
                f"make every source agree (the build uses one of them); {BUILD_TIME_NOTE}",
            )
        for source in sources:
            if name not in source.values and source.values:
                result.add(
                    "warning",
                    source.label,
                    f"{name} is missing here while other real-time variables are set",
                    f"set {name} in {source.label} as in the other sources",
                )
