"""The pytest plugin, through pytester: markers, selection, outcomes, reports, and overriding rv_adapter.

Each test writes a small suite of checks into a temporary folder and runs pytest on it with the
plugin, as `realtime-verify run` does. No browser and no embedded stack: checks that need a target
get a fake one from the suite's conftest.py (or a fake socket.io server for the plugin's own).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from realtime_verify import catalogue as c
from realtime_verify.adapter.capabilities import MISSING
from realtime_verify.catalogue import CATALOGUE, Need

pytest_plugins = ["pytester"]

INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""

# A fake target for checks that have needs: what the plugin compares the needs with.
FAKE_TARGET = """
import pytest
from realtime_verify.net import NetworkOptions
from realtime_verify.probes import Handshake
from realtime_verify.target import Credentials, Target


@pytest.fixture(scope="session")
def rv_target(rv_settings):
    profile = rv_settings.profile.replace(target={"base_url": "https://app.example.com"})
    handshake = Handshake("https://app.example.com/socket.io/?EIO=4", 200, {}, "", None)
    users = {"a": Credentials("alice", "pw-a"), "b": Credentials("bob", "pw-b")}
    return Target(profile, NetworkOptions(), handshake, provided_users=users)
"""

OUTCOMES = """
from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure, NotApplicable


@pytest.mark.check(c.HS_001)
def test_passes(rv_check):
    rv_check.metrics["pingInterval_ms"] = 3000


@pytest.mark.check(c.HS_002)
def test_fails():
    raise CheckFailure("pingInterval 25 s is not below 20 s", fix="lower pingInterval")


@pytest.mark.check(c.HS_003)
def test_not_applicable():
    raise NotApplicable("nothing to compare the ping timers with")


@pytest.mark.check(c.HS_004)
def test_bare_assert():
    status = 403
    assert status == 200


@pytest.mark.check(c.HS_005)
def test_broken():
    {}["missing"]


@pytest.mark.check(c.RT_002)
def test_needs_chat():
    Path("rt-002-ran").write_text("the body ran")


def test_not_a_check():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makeconftest(FAKE_TARGET)
    return pytester


def run(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    options = ("-p", "realtime_verify.plugin", "--output", str(pytester.path / "reports"), *args)
    return pytester.runpytest_subprocess(*options) if subprocess else pytester.runpytest(*options)


def summary(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "reports" / "summary.json").read_text())
    return data


def statuses(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    return {check["check_id"]: check for check in summary(pytester)["checks"]}


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


# Markers and selection ---------------------------------------------------------------------------

PROFILES = """
import pytest

from realtime_verify import catalogue as c


@pytest.mark.check(c.HS_001)
def test_everywhere():
    pass


@pytest.mark.check(c.RT_003)
def test_not_in_smoke():
    pass


@pytest.mark.check(c.FT_005)
def test_nightly_only():
    pass


def test_not_a_check():
    pass
"""


@pytest.mark.parametrize(
    ("profile", "kept"),
    [
        ("smoke", {"test_everywhere", "test_not_a_check"}),
        ("signoff", {"test_everywhere", "test_not_in_smoke", "test_not_a_check"}),
        ("nightly", {"test_everywhere", "test_not_in_smoke", "test_nightly_only", "test_not_a_check"}),
    ],
)
def test_the_run_profile_selects_checks_from_the_catalogue(
    suite: pytest.Pytester, profile: str, kept: set[str]
) -> None:
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, "--profile", profile, "--collect-only", "-q")
    collected = {line.split("::")[1] for line in result.stdout.lines if "::" in line}
    assert collected == kept
    if len(kept) < 4:
        result.stdout.fnmatch_lines([f"*{4 - len(kept)} deselected*"])


def test_the_default_run_profile_comes_from_the_ini(suite: pytest.Pytester) -> None:
    suite.makeini(INI + "rv_profile = smoke\n")
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, "--collect-only", "-q")
    assert "test_not_in_smoke" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*2 deselected*"])


@pytest.mark.parametrize(
    ("selectors", "kept"),
    [
        (["hs-001"], {"test_everywhere", "test_not_a_check"}),
        (["RT"], {"test_not_in_smoke", "test_not_a_check"}),
        (["FT", "HS-001"], {"test_nightly_only", "test_everywhere", "test_not_a_check"}),
    ],
)
def test_check_selects_ids_and_families_within_the_profile(
    suite: pytest.Pytester, selectors: list[str], kept: set[str]
) -> None:
    suite.makepyfile(test_checks=PROFILES)
    options = [arg for selector in selectors for arg in ("--check", selector)]
    result = run(suite, "--profile", "nightly", *options, "--collect-only", "-q")
    assert {line.split("::")[1] for line in result.stdout.lines if "::" in line} == kept


def test_an_unknown_check_exits_2_listing_the_valid_ones(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, "--check", "RT-999", subprocess=True)
    assert result.ret == 2
    text = output(result)
    assert f"--check RT-999: no such check or family. Valid: {', '.join(CATALOGUE.ids)}" in text
    assert "(or a family: ENV, NGX, CF, HS, RT, FT, SW)" in text
    assert "Traceback" not in text


def test_the_marker_carries_the_catalogue_check(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=PROFILES)
    run(suite, "--profile", "signoff", "-q")
    results = statuses(suite)
    assert set(results) == {"HS-001", "RT-003"}, "only checks become results; plain tests do not"
    assert results["RT-003"]["title"] == c.RT_003.title
    assert (results["RT-003"]["family"], results["RT-003"]["severity"]) == ("RT", "critical")
    assert results["HS-001"]["nodeid"].endswith("test_checks.py::test_everywhere")


def test_a_marker_without_a_catalogue_check_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks='import pytest\n\n@pytest.mark.check("RT-002")\ndef test_old_style():\n    pass\n')
    result = run(suite, subprocess=True)
    assert result.ret == 2
    assert "@pytest.mark.check takes a catalogue check (catalogue.RT_002), got 'RT-002'" in output(result)
    assert "INTERNALERROR" not in output(result)


def test_the_header_shows_the_effective_target_and_settings(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, "--collect-only", "--target", "https://staging.example.com", "--set", "budgets.chat_p95_ms=120")
    result.stdout.fnmatch_lines(
        [
            "realtime-verify: profile signoff, target https://staging.example.com (defaults)",
            "realtime-verify:   target.base_url = 'https://staging.example.com'  (--target)",
            "realtime-verify:   budgets.chat_p95_ms = 120.0  (--set)",
        ]
    )


# Outcomes and reports ----------------------------------------------------------------------------


def test_every_outcome_reaches_summary_and_junit(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=OUTCOMES)
    result = run(suite, "--set", "auth.mode=nickname", "--set", "app.chat=none", "-rs")
    results = statuses(suite)
    assert {check: r["status"] for check, r in results.items()} == {
        "HS-001": "passed",
        "HS-002": "failed",
        "HS-003": "skipped",
        "HS-004": "failed",
        "HS-005": "error",
        "RT-002": "skipped",
    }
    assert results["HS-001"]["metrics"] == {"pingInterval_ms": 3000}
    assert (results["HS-002"]["message"], results["HS-002"]["fix"]) == (
        "pingInterval 25 s is not below 20 s",
        "lower pingInterval",
    )
    assert results["HS-003"]["message"] == "nothing to compare the ping timers with"
    assert "assert 403 == 200" in results["HS-004"]["message"], "a bare assert still says what it saw"
    assert results["HS-004"]["fix"] == c.HS_004.fix
    assert results["HS-005"]["message"].startswith("KeyError: 'missing' — an error of realtime-verify itself")
    assert results["RT-002"]["message"] == MISSING[Need.CHAT]
    assert not (suite.path / "rt-002-ran").exists(), "a check whose needs are unmet is skipped before it runs"
    result.stdout.fnmatch_lines(
        ["*SKIPPED*nothing to compare the ping timers with*", f"*SKIPPED*{MISSING[Need.CHAT]}*"]
    )
    run_summary = summary(suite)
    assert (run_summary["verdict"], run_summary["exit_status"], result.ret) == ("FAILED", 1, 1)
    assert run_summary["counts"] == {"failed": 2, "error": 1, "warning": 0, "not run": 0, "passed": 1, "skipped": 2}

    junit = ET.parse(suite.path / "reports" / "junit.xml").getroot()
    cases = {case.get("name", "").split()[0]: case for case in junit.iter("testcase")}
    assert set(cases) == set(results)
    assert [child.tag for child in cases["HS-001"]] == []
    assert [child.tag for child in cases["HS-002"]] == ["failure"]
    assert [child.tag for child in cases["HS-005"]] == ["error"]
    assert [child.tag for child in cases["RT-002"]] == ["skipped"]
    assert (junit.get("failures"), junit.get("errors"), junit.get("skipped")) == ("2", "1", "2")

    result.stdout.fnmatch_lines(
        ["*realtime-verify*", f"FAILED   HS-002   {c.HS_002.title}", "*verdict: FAILED (2 failed, 1 error*"]
    )


def test_an_error_of_the_harness_is_exit_70_not_a_failed_check(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=OUTCOMES)
    result = run(suite, "-k", "passes or broken")
    assert result.ret == 70
    assert (summary(suite)["verdict"], summary(suite)["exit_status"]) == ("ERROR", 70)


def test_a_usage_error_inside_a_check_ends_the_run_with_exit_2_and_one_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_checks="""
import pytest

from realtime_verify import catalogue as c
from realtime_verify.errors import UsageError


@pytest.mark.check(c.HS_001)
def test_misconfigured():
    raise UsageError("ui.chat_input = '#nope' matched nothing: set [ui] chat_input")


@pytest.mark.check(c.HS_002)
def test_after():
    pass
"""
    )
    result = run(suite, subprocess=True)
    text = output(result)
    assert result.ret == 2, text
    assert "realtime-verify: ui.chat_input = '#nope' matched nothing: set [ui] chat_input" in text
    assert "Traceback" not in text
    assert "raise UsageError" not in text
    assert not [line for line in result.stdout.lines if line.startswith("E ")], "no assertion-style traceback"
    results = statuses(suite)
    assert results["HS-001"]["status"] == "not run"
    assert results["HS-002"]["status"] == "not run"
    assert results["HS-002"]["message"].startswith("the run ended first: ui.chat_input")
    assert (summary(suite)["verdict"], summary(suite)["exit_status"]) == ("ERROR", 2)


def test_a_usage_error_in_a_test_that_is_not_a_check_fails_that_test_only(suite: pytest.Pytester) -> None:
    # The repository's conftest.py loads the plugin for the harness's own tests too: a unit test that
    # fails with a ConfigError must not stop the session (nor write reports/ where it runs).
    suite.makepyfile(
        test_helpers="""
from realtime_verify.errors import ConfigError


def test_fails_with_a_config_error():
    raise ConfigError("what a harness unit test might leak")


def test_the_next_one():
    pass
"""
    )
    result = run(suite)
    result.assert_outcomes(failed=1, passed=1)
    assert not (suite.path / "reports").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "https://x.example", "--fault", "no-pong"], "--fault switches faults of the embedded"),
        (["--set", "budgets.chat_p95_ms"], "expected SECTION.KEY=VALUE"),
        (["--fault", "no-pongg"], "Did you mean 'no-pong'?"),
        (["--set", "budgets.chat_p95_ms=fast"], "budgets.chat_p95_ms (from --set) must be a number, got 'fast'"),
        (["--target", "https://a.example", "--set", "target.base_url=https://b.example"], "disagree: give one"),
    ],
)
def test_usage_errors_exit_2_with_one_line(suite: pytest.Pytester, args: list[str], message: str) -> None:
    # A subprocess: pytest.exit() from pytest_configure ends the process, as in real runs.
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, *args, subprocess=True)
    assert result.ret == 2
    assert message in output(result)
    assert "Traceback" not in output(result)


def test_output_must_be_a_folder(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=PROFILES)
    (suite.path / "taken").write_text("a file")
    result = suite.runpytest_subprocess("-p", "realtime_verify.plugin", "--output", "taken")
    assert result.ret == 2
    assert "--output taken is a file; give a folder for the reports" in output(result)


def test_an_unknown_profile_lists_the_valid_ones(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_checks=PROFILES)
    result = run(suite, "--profile", "smok")
    assert result.ret == 4  # pytest's own usage error; `realtime-verify run` maps it to 2
    result.stderr.fnmatch_lines(["*invalid choice: 'smok' (choose from*smoke*signoff*nightly*"])


def test_an_error_in_teardown_is_recorded(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_checks="""
import pytest

from realtime_verify import catalogue as c


@pytest.fixture
def leaves_a_mess():
    yield
    raise RuntimeError("could not delete the synthetic order 17")


@pytest.mark.check(c.HS_001)
def test_passes_then_breaks(leaves_a_mess):
    pass
"""
    )
    result = run(suite)
    assert result.ret != 0
    assert statuses(suite)["HS-001"]["status"] == "error"
    assert "could not delete the synthetic order 17" in statuses(suite)["HS-001"]["message"]


# Bringing your own adapter -----------------------------------------------------------------------

OPEN_PACKET = b'0{"sid":"fake","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'


@pytest.fixture
def socketio_server() -> Iterator[str]:
    """Just enough of a socket.io server for the plugin's preflight: the polling handshake."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(OPEN_PACKET)))
            self.end_headers()
            self.wfile.write(OPEN_PACKET)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


TEAM_ADAPTER = """
from pathlib import Path

import pytest

from realtime_verify.adapter import Capabilities, ContractAdapter


class TeamAdapter(ContractAdapter):
    \"\"\"A team's adapter: its app has no chat, whatever the profile's defaults say.\"\"\"

    @property
    def capabilities(self):
        return Capabilities(
            login="nickname", chat="none", send_by="Enter", items="orders", heartbeat=True, socket_auth=True,
            sender_identity=True, resync=True, service_worker=True, connection_badge=True,
        )

    def secrets(self):
        return ["team-secret-42"]

    async def remove_chat(self, marker_prefix):
        Path("chat-removed").write_text(marker_prefix)
        return 0

    async def close(self):
        Path("adapter-closed").write_text("closed")


@pytest.fixture(scope="session")
def rv_adapter(rv_target):
    return TeamAdapter(rv_target)


@pytest.fixture(scope="session")
def rv_browser():
    return object()  # no page is opened: the checks below only look at the session
"""

USES_TEAM_ADAPTER = """
from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure


@pytest.mark.check(c.HS_001)
def test_the_override_is_the_adapter(rv_adapter, rv_app):
    assert type(rv_adapter).__name__ == "TeamAdapter"
    assert rv_app.adapter is rv_adapter, "pages and watchers are opened through the team's adapter"


@pytest.mark.check(c.RT_002)
def test_its_capabilities_decide_the_skips():
    Path("rt-002-ran").write_text("the body ran")


@pytest.mark.check(c.HS_002)
def test_a_message_that_quotes_a_secret(rv_adapter):
    raise CheckFailure(f"the server answered {rv_adapter.secrets()[0]}")
"""


@pytest.fixture
def team(suite: pytest.Pytester, socketio_server: str) -> tuple[pytest.Pytester, pytest.RunResult]:
    suite.makeconftest(TEAM_ADAPTER)
    suite.makepyfile(test_checks=USES_TEAM_ADAPTER)
    return suite, run(suite, "--target", socketio_server, "--set", "auth.mode=nickname")


def test_an_rv_adapter_fixture_in_conftest_is_the_adapter_of_the_run(
    team: tuple[pytest.Pytester, pytest.RunResult],
) -> None:
    pytester, result = team
    results = statuses(pytester)
    assert results["HS-001"]["status"] == "passed", results["HS-001"]["message"]
    assert results["RT-002"]["status"] == "skipped", "the profile has chat; only the team's adapter says it has none"
    assert results["RT-002"]["message"] == MISSING[Need.CHAT]
    assert not (pytester.path / "rt-002-ran").exists()
    assert result.ret == 1


def test_an_overridden_adapters_secrets_are_redacted(team: tuple[pytest.Pytester, pytest.RunResult]) -> None:
    pytester, result = team
    assert statuses(pytester)["HS-002"]["status"] == "failed"
    assert "team-secret-42" not in (pytester.path / "reports" / "summary.json").read_text()
    assert "team-secret-42" not in result.stdout.str()


def test_an_overridden_adapter_is_reported_cleaned_up_and_closed(
    team: tuple[pytest.Pytester, pytest.RunResult],
) -> None:
    pytester, _ = team
    assert "chat: none" in summary(pytester)["capabilities"]
    assert (pytester.path / "chat-removed").exists(), "the run's synthetic chat messages are removed"
    assert (pytester.path / "adapter-closed").exists()


LOGINS = """
import pytest
from dataclasses import dataclass

from realtime_verify.net import NetworkOptions
from realtime_verify.probes import Handshake
from realtime_verify.target import Credentials, Session, Target


class FakeApi:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass

    async def login(self, role, credentials):
        return Session(role, token=f"token-of-{credentials.username}-0123", user_id=role)


@dataclass
class FakeTarget(Target):
    def api(self, session=None):
        return FakeApi()


@pytest.fixture(scope="session")
def rv_target(rv_settings):
    profile = rv_settings.profile.replace(target={"base_url": "https://app.example.com"})
    handshake = Handshake("https://app.example.com/socket.io/?EIO=4", 200, {}, "", None)
    names = {"a": "alice", "b": "bob", "c": "carol"}
    users = {role: Credentials(name, f"pw-{name}-0123") for role, name in names.items()}
    return FakeTarget(profile, NetworkOptions(), handshake, provided_users=users)
"""

QUOTES_SECRETS = """
import pytest

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure


@pytest.mark.check(c.HS_007)
async def test_quotes_secrets(rv_adapter):
    early = (await rv_adapter.session("a")).token
    late = (await rv_adapter.session("c")).token  # user c logs in during the check, as RT-003's watcher does
    raise CheckFailure(f"the server echoed {early} and {late}")
"""


def test_the_adapters_secrets_are_redacted(suite: pytest.Pytester) -> None:
    suite.makeconftest(LOGINS)
    suite.makepyfile(test_checks=QUOTES_SECRETS)
    result = run(suite)
    message = statuses(suite)["HS-007"]["message"]
    assert "token-of-alice-0123" not in message, "a token from the login before the run is redacted"
    assert "token-of-alice-0123" not in result.stdout.str()
    assert "[REDACTED]" in message


def test_a_secret_the_adapter_obtains_during_the_run_is_redacted(suite: pytest.Pytester) -> None:
    suite.makeconftest(LOGINS)
    suite.makepyfile(test_checks=QUOTES_SECRETS)
    result = run(suite)
    assert "token-of-carol-0123" not in statuses(suite)["HS-007"]["message"]
    assert "token-of-carol-0123" not in result.stdout.str()
