"""`realtime-verify`: run the suite, serve the embedded stack, audit configuration, re-render reports.

    realtime-verify run [--target PROFILE|URL] [--profile smoke|signoff|nightly] [--check ID] [--fault NAME] [...]
    realtime-verify serve [--fault NAME] [--production-timers]
    realtime-verify serve --list-faults
    realtime-verify audit [--target PROFILE|URL] [--env-file F] [--k8s F] [--nginx F] [--site URL] [--cloudflare]
    realtime-verify report [reports/summary.json]
    realtime-verify checks [--profile P] [--format table|markdown|json]

Exit codes: 0 all passed, 1 a check failed, 2 usage or configuration error, 3 target unreachable.

Long on purpose: five commands, each a short function over the harness, with the one place that
turns an error into a line and an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from realtime_verify.config import Profile
from realtime_verify.errors import EXIT_FAILED, EXIT_USAGE, RealtimeVerifyError, UsageError
from realtime_verify.reporting.redact import RedactingStream, shared_redactor
from realtime_verify.stack import StackConfig, StackInfo, Timers
from realtime_verify.stack.faults import FAULTS, resolve_faults
from realtime_verify.stack.supervisor import run_until_stopped

# pytest's own exit codes that mean something else for us.
PYTEST_USAGE_ERROR = 4
PYTEST_NO_TESTS = 5


def find_suite() -> Path:
    """The suite: $RV_SUITE, else the copy the wheel ships (`realtime_verify.suite`), else tests/e2e of a clone."""
    import importlib.util

    override = os.environ.get("RV_SUITE")
    candidates = [Path(override)] if override else []
    # The wheel maps tests/e2e to realtime_verify.suite (pyproject.toml); an editable install may too.
    spec = importlib.util.find_spec("realtime_verify.suite")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(location) for location in spec.submodule_search_locations]
    candidates.append(Path(__file__).resolve().parents[2] / "tests" / "e2e")
    for candidate in candidates:
        if (candidate / "conftest.py").is_file():
            return candidate
    raise UsageError(
        "cannot find the suite: this install of realtime-verify lacks realtime_verify/suite (reinstall the"
        " wheel), or run it from a clone installed with `pip install -e .`, or set RV_SUITE to the suite's folder"
    )


def cmd_run(arguments: list[str]) -> int:
    """pytest on the suite with the realtime-verify plugin; every option is the plugin's own."""
    import pytest

    suite = find_suite()
    pytest_args = [
        str(suite),
        "-p",
        "realtime_verify.plugin",
        # The run's configuration is this command's alone: no pytest.ini found above a team's venv,
        # no cache written into site-packages.
        "-c",
        os.devnull,
        f"--rootdir={suite}",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=session",
        "-o",
        "asyncio_default_test_loop_scope=session",
        *(arg for arg in arguments if arg != "--"),
    ]
    code = int(pytest.main(pytest_args))
    if code == PYTEST_NO_TESTS:
        print("realtime-verify: no check ran (nothing matched the profile and filters)", file=sys.stderr)
        return EXIT_USAGE
    if code == PYTEST_USAGE_ERROR:
        return EXIT_USAGE
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    if args.list_faults:
        width = max(len(name) for name in FAULTS)
        for fault in FAULTS.values():
            breaks = ", ".join(check.id for check in fault.breaks) or "(guarded by checks still to come)"
            print(f"{fault.name:<{width}}  [{fault.layer}] {fault.summary}\n{'':<{width}}  fails: {breaks}")
        return 0
    resolve_faults(args.fault)
    timers = Timers.production() if args.production_timers else Timers.compressed()
    config = StackConfig(faults=tuple(args.fault), timers=timers, log_level=args.log_level)

    def announce(info: StackInfo) -> None:
        print("\n".join(describe_stack(info)), flush=True)

    code = asyncio.run(run_until_stopped(config, announce))
    print("realtime-verify: stopped; nothing left running.")
    return code


def cmd_audit(args: argparse.Namespace) -> int:
    from realtime_verify.audit.run import AuditInputs, run_audit
    from realtime_verify.config import parse_overrides, profile_from_target_option
    from realtime_verify.outcome import Status
    from realtime_verify.reporting.format import results_table, summary_line

    profile = profile_from_target_option(args.target, overrides=parse_overrides(args.set))
    inputs = AuditInputs.from_profile(profile, cloudflare=True if args.cloudflare else None)
    if args.env_file:
        inputs.env_files = [Path(p) for p in args.env_file]
    if args.k8s:
        inputs.k8s = [Path(p) for p in args.k8s]
    if args.nginx:
        inputs.nginx = Path(args.nginx)
    if args.nginx_root:
        inputs.nginx_root = Path(args.nginx_root)
    for item in args.nginx_map:
        folder, sep, local = item.partition("=")
        if not sep or not folder.startswith("/"):
            raise UsageError(
                f"--nginx-map {item!r}: expected /ABSOLUTE/FOLDER=LOCAL/FOLDER, e.g. /data/nginx=deploy/npm"
            )
        inputs.nginx_path_map[folder] = Path(local)
    if args.site:
        inputs.site_url = args.site
    inputs.zone = args.zone
    ping = asyncio.run(_live_ping(profile)) if profile.target.base_url and not args.offline else None
    results = run_audit(profile, inputs, ping=ping)
    data = {"target": profile.target.base_url, "checks": [r.to_dict() for r in results]}
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "audit.json").write_text(json.dumps(data, indent=2) + "\n")
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print("\n".join([*results_table(results), "", summary_line(results)]))
    return EXIT_FAILED if any(r.status is Status.FAILED for r in results) else 0


async def _live_ping(profile: Profile) -> tuple[float, float, str] | None:
    """pingInterval and pingTimeout from the live target's handshake, if it answers."""
    from realtime_verify.net import NetworkOptions
    from realtime_verify.probes import fetch_handshake

    ca_file = Path(profile.target.ca_file) if profile.target.ca_file else None
    network = NetworkOptions(resolve=profile.target.resolve, ca_file=ca_file)
    try:
        handshake = await fetch_handshake(profile, network, timeout_s=5)
    except RealtimeVerifyError:
        return None
    if handshake.ping_interval_s is None or handshake.ping_timeout_s is None:
        return None
    return handshake.ping_interval_s, handshake.ping_timeout_s, f"the live handshake of {profile.target.base_url}"


def describe_stack(info: StackInfo) -> list[str]:
    """What `serve` prints: where the stack answers and how to point a browser or a script at it."""
    timers = info.timers
    faults = f" with faults: {', '.join(info.faults)}" if info.faults else ""
    return [
        f"realtime-verify: the embedded stack is up{faults}",
        f"  page        {info.base_url}/",
        f"  socket      {info.socket_url}",
        f"  CA file     {info.ca_file}",
        f"  browser     chromium {' '.join(info.network.chromium_args())} {info.base_url}/",
        f"  python      NetworkOptions(resolve={{'{info.hostname}': '127.0.0.1'}}, ca_file='{info.ca_file}')",
        "  users       " + ", ".join(f"{name} / {password}" for name, password in info.users.items()),
        f'  control     {info.control_url}  (POST /edge/drop {{"mode": "rst"}}, /edge/blackhole'
        ' {"seconds": 5}, /backend/restart, /nginx/restart, GET /status)',
        f"  timers      ping {timers.ping_interval_s:g}+{timers.ping_timeout_s:g} s, page heartbeat"
        f" {timers.heartbeat_interval_ms} ms, nginx read {timers.nginx_read_timeout_s:g} s,"
        f" edge idle {timers.edge_idle_timeout_s:g} s",
        "  pids        " + ", ".join(f"{name} {pid}" for name, pid in info.pids.items()),
        "Press Ctrl-C to stop.",
    ]


def cmd_checks(args: argparse.Namespace) -> int:
    """The catalogue: every check, the profiles that run it, what it needs, the faults that prove it."""
    from realtime_verify.catalogue import CATALOGUE, RunProfile

    checks = [c for c in CATALOGUE if args.profile is None or RunProfile(args.profile) in c.profiles]
    # The most specific faults first: the ones that break the fewest checks are about this one.
    proven = {
        check.id: [
            f.name
            for f in sorted(FAULTS.values(), key=lambda f: len(f.breaks) + len(f.warns))
            if check in (*f.breaks, *f.warns)
        ]
        for check in checks
    }
    if args.format == "json":
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "family": c.family.value,
                "profiles": sorted(p.value for p in c.profiles),
                "needs": [n.name.lower() for n in c.needs],
                "severity": c.severity.value,
                "fix": c.fix,
                "faults": proven[c.id],
            }
            for c in checks
        ]
        print(json.dumps(rows, indent=2))
    elif args.format == "markdown":
        print("| ID | check | profiles | needs | a fault that makes it fail |")
        print("|---|---|---|---|---|")
        for c in checks:
            profiles = (
                "all"
                if len(c.profiles) == len(RunProfile)
                else ", ".join(p.value for p in RunProfile if p in c.profiles)
            )
            needs = ", ".join(n.name.lower().replace("_", " ") for n in c.needs) or "-"
            faults = ", ".join(f"`{name}`" for name in proven[c.id][:2]) or "-"
            print(f"| {c.id} | {c.title} | {profiles} | {needs} | {faults} |")
    else:
        for c in checks:
            print(f"{c.id:<8} {c.title}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from realtime_verify.reporting.html import write_html
    from realtime_verify.reporting.summary import RunReport

    path = Path(args.summary)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path} as a realtime-verify summary: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise UsageError(f"cannot read {path} as a realtime-verify summary: it is not the JSON object a run writes")
    try:
        report = RunReport.from_dict(data)
        html = write_html(report, path.parent)
    except (AttributeError, TypeError, KeyError, ValueError) as error:
        # A summary edited by hand or written by another tool: a field of the wrong type.
        raise UsageError(
            f"cannot read {path} as a realtime-verify summary: a field has the wrong type ({type(error).__name__}:"
            f" {error}); compare it with summary.schema.json"
        ) from None
    print(f"{report.verdict}: {report.counts}; wrote {html}")
    return 0 if report.verdict == "PASSED" else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-verify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "run",
        help="run the verification suite (default: against the embedded stack); `run --help` lists its options",
        add_help=False,
    )

    serve = sub.add_parser("serve", help="start the embedded stack and keep it up until Ctrl-C")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a fault (repeatable)",
    )
    serve.add_argument("--list-faults", action="store_true", help="list the faults and what each breaks")
    serve.add_argument("--production-timers", action="store_true", help="production ping/heartbeat/timeouts")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])

    audit = sub.add_parser("audit", help="audit env vars, the nginx proxy block and Cloudflare settings (read-only)")
    audit.add_argument(
        "--target", help="a target profile (.toml) whose [config_files] and [cloudflare] name what to audit"
    )
    audit.add_argument("--env-file", action="append", default=[], metavar="F", help=".env file (repeatable)")
    audit.add_argument("--k8s", action="append", default=[], metavar="F", help="Kubernetes manifest (repeatable)")
    audit.add_argument("--nginx", metavar="F", help="nginx conf (includes are followed)")
    audit.add_argument(
        "--nginx-root",
        metavar="DIR",
        help="the folder that stands for /etc/nginx: absolute includes are read from it, never from this machine",
    )
    audit.add_argument(
        "--nginx-map",
        action="append",
        default=[],
        metavar="DIR=LOCAL",
        help="another absolute folder the confs include, and the local folder that holds it (repeatable)",
    )
    audit.add_argument("--site", metavar="URL", help="the public site the env vars serve (judges scheme and host)")
    audit.add_argument(
        "--cloudflare", action="store_true", help="audit the Cloudflare zone (token from the profile's token_env)"
    )
    audit.add_argument("--zone", help="Cloudflare zone id or name (else the profile's)")
    audit.add_argument("--format", choices=["table", "json"], default="table")
    audit.add_argument("--offline", action="store_true", help="do not ask the live target for its ping timers")
    audit.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a profile setting"
    )
    audit.add_argument("--output", default="reports", help="where audit.json goes (default: reports)")

    checks = sub.add_parser("checks", help="list every check: profiles, needs, the faults that prove it")
    checks.add_argument("--profile", choices=["smoke", "signoff", "nightly"], help="only the checks of this profile")
    checks.add_argument("--format", choices=["table", "markdown", "json"], default="table")

    report = sub.add_parser("report", help="re-render report.html from a summary.json")
    report.add_argument("summary", nargs="?", default="reports/summary.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] == "run":
            # `run` is pytest underneath: its options are the plugin's, declared once (plugin.py).
            # Everything it prints goes through the run's redactor, tracebacks included.
            redactor = shared_redactor()
            with (
                redirect_stdout(RedactingStream(sys.stdout, redactor)),
                redirect_stderr(RedactingStream(sys.stderr, redactor)),
            ):
                return cmd_run(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "checks":
            return cmd_checks(args)
    except RealtimeVerifyError as error:
        print(f"realtime-verify: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
