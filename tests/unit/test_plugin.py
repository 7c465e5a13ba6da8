"""The plugin, through pytester: options, profile selection, header, usage errors."""

from __future__ import annotations

import pytest

CHECKS = """
import pytest

@pytest.mark.check("XX-001")
@pytest.mark.smoke
@pytest.mark.signoff
def test_in_smoke():
    pass

@pytest.mark.check("XX-002")
@pytest.mark.nightly
def test_nightly_only():
    pass

def test_not_a_check():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_checks=CHECKS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    return pytester


def test_profile_selects_checks_and_leaves_other_tests_alone(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "realtime_verify.plugin", "--profile", "smoke", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_in_smoke*", "*test_not_a_check*", "*1 deselected*"])
    result = suite.runpytest("-p", "realtime_verify.plugin", "--profile", "nightly", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_nightly_only*", "*1 deselected*"])


def test_check_option_selects_ids_and_families(suite: pytest.Pytester) -> None:
    result = suite.runpytest(
        "-p", "realtime_verify.plugin", "--profile", "signoff", "--check", "xx-001", "--collect-only", "-q"
    )
    result.stdout.fnmatch_lines(["*test_in_smoke*", "*test_not_a_check*"])
    assert "test_nightly_only" not in result.stdout.str()
    result = suite.runpytest(
        "-p", "realtime_verify.plugin", "--profile", "nightly", "--check", "XX", "--collect-only", "-q"
    )
    result.stdout.fnmatch_lines(["*test_nightly_only*"])


def test_header_shows_the_effective_target_and_settings(suite: pytest.Pytester) -> None:
    result = suite.runpytest(
        "-p",
        "realtime_verify.plugin",
        "--collect-only",
        "--target",
        "https://staging.example.com",
        "--set",
        "budgets.chat_p95_ms=120",
    )
    result.stdout.fnmatch_lines(
        [
            "realtime-verify: profile signoff, target https://staging.example.com (defaults)",
            "realtime-verify:   target.base_url = 'https://staging.example.com'  (--target)",
            "realtime-verify:   budgets.chat_p95_ms = 120.0  (--set)",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "https://x.example", "--fault", "no-pong"],
            "--fault switches faults of the embedded reference stack",
        ),
        (["--set", "budgets.chat_p95_ms"], "expected SECTION.KEY=VALUE"),
        (["--fault", "no-pongg"], "Did you mean 'no-pong'?"),
        (["--set", "budgets.chat_p95_ms=fast"], "--set budgets.chat_p95_ms must be a number, got 'fast'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(suite: pytest.Pytester, args: list[str], message: str) -> None:
    # A subprocess: pytest.exit() from pytest_configure ends the process, as in real runs.
    result = suite.runpytest_subprocess("-p", "realtime_verify.plugin", *args)
    assert result.ret == 2
    assert message in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str()


def test_unknown_profile_lists_the_valid_ones(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "realtime_verify.plugin", "--profile", "smok")
    assert result.ret == 4  # pytest's own usage error; `realtime-verify run` maps it to 2
    result.stderr.fnmatch_lines(["*invalid choice: 'smok' (choose from*smoke*signoff*nightly*"])
