"""Bad target profiles, env vars and `--set` values: exit 2 before any check, in one line that names
the key (and where its value came from), never a traceback, never the exit code of an unreachable target."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import assert_case, closed_url, realtime_verify, write


@pytest.mark.parametrize(
    ("profile", "args", "env", "line"),
    [
        pytest.param(
            "[target\nbase_url = 1\n",
            (),
            {},
            "is not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 8)",
            id="toml-syntax-error",
        ),
        pytest.param(
            '[target]\nbase_url = "http://x.example\n',
            (),
            {},
            "is not valid TOML: Illegal character '\\n' (at line 2, column 29)",
            id="toml-unterminated-string",
        ),
        pytest.param(
            b'[target]\nbase_url = "http://caf\xe9.example"\n',
            (),
            {},
            "is not UTF-8 (byte 31): save it as UTF-8",
            id="latin-1",
        ),
        pytest.param(
            "[budget]\nchat_p95_ms = 1\n",
            (),
            {},
            "unknown section [budget]. Did you mean 'budgets'?",
            id="unknown-section",
        ),
        pytest.param(
            "[target]\nbase_ur = 'https://x.example'\n",
            (),
            {},
            "unknown key target.base_ur. Did you mean 'base_url'?",
            id="unknown-key",
        ),
        pytest.param(
            "[budgets]\nchat_p95_ms = 'fast'\n",
            (),
            {},
            "budgets.chat_p95_ms must be a number, got 'fast'",
            id="wrong-type-number",
        ),
        pytest.param(
            "[app]\nsocket_auth = 3\n",
            (),
            {},
            "app.socket_auth must be true or false, got 3",
            id="wrong-type-bool",
        ),
        pytest.param(
            "[target]\nresolve = ['app.test']\n",
            (),
            {},
            "target.resolve must be a table of strings, got ['app.test']",
            id="wrong-type-table",
        ),
        pytest.param(
            "[target]\nconnect_timeout_s = 0\n",
            (),
            {},
            "target.connect_timeout_s: Input should be greater than or equal to 1 (got 0)",
            id="timeout-zero",
        ),
        pytest.param(
            "",
            (),
            {"RV_TARGET_CONNECT_TIMEOUT_S": "-1"},
            "target.connect_timeout_s (from RV_TARGET_CONNECT_TIMEOUT_S): Input should be greater than or equal to 1",
            id="timeout-negative-from-env",
        ),
        pytest.param(
            "[budgets]\nchat_samples = 2\n",
            (),
            {},
            "budgets.chat_samples: Input should be greater than or equal to 5 (got 2)",
            id="out-of-range-samples",
        ),
        pytest.param(
            "[app]\nchat = 'brodcast'\n",
            (),
            {},
            "app.chat must be one of 'direct', 'room', 'broadcast' or 'none', got 'brodcast'."
            " Did you mean 'broadcast'?",
            id="unknown-choice",
        ),
        pytest.param(
            "[target]\nbase_url = 'ftp://x.example'\n",
            (),
            {},
            "target.base_url: must be an absolute http:// or https:// URL (got 'ftp://x.example')",
            id="url-bad-scheme",
        ),
        pytest.param(
            "",
            ("--set", 'faults.allowed=["client", "edg"]'),
            {},
            "faults.allowed.1 (from --set) must be one of 'client', 'edge' or 'backend', got 'edg'."
            " Did you mean 'edge'?",
            id="set-json-list-unknown-value",
        ),
        pytest.param(
            "",
            ("--set", 'config_files.env=["a.env", 3]'),
            {},
            "config_files.env.1 (from --set) must be a string, got 3",
            id="set-json-list-wrong-item",
        ),
        pytest.param(
            "",
            ("--set", 'faults.allowed=["client",'),
            {},
            """faults.allowed.0 (from --set) must be one of 'client', 'edge' or 'backend', got '["client"'""",
            id="set-json-list-malformed",
        ),
        pytest.param(
            "",
            ("--set", 'target.resolve={"app.test": 1}'),
            {},
            "target.resolve.app.test (from --set) must be a string, got 1",
            id="set-json-table-wrong-value",
        ),
        pytest.param(
            "",
            ("--set", "budgets.chat_p95_ms"),
            {},
            "--set 'budgets.chat_p95_ms': expected SECTION.KEY=VALUE, e.g. budgets.chat_p95_ms=200",
            id="set-without-value",
        ),
    ],
)
def test_a_bad_profile_is_one_line_and_exit_2(
    tmp_path: Path, profile: str | bytes, args: tuple[str, ...], env: dict[str, str], line: str
) -> None:
    path = write(tmp_path / "target.toml", profile)
    result = realtime_verify(tmp_path, "run", "--target", str(path), *args, env=env)
    assert_case(result, 2, line, only_line=True)


def test_a_profile_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Editors on Windows start files with a BOM: the profile is read, and the run goes on to the target."""
    url = closed_url()
    path = write(tmp_path / "target.toml", f'\ufeff[target]\nbase_url = "{url}"\n')
    result = realtime_verify(tmp_path, "run", "--target", str(path), "--check", "HS-001")
    assert_case(result, 3, f"cannot connect to {url}/socket.io/", summary="UNREACHABLE", ended_early=True)


def test_target_url_and_set_base_url_that_disagree(tmp_path: Path) -> None:
    result = realtime_verify(
        tmp_path, "run", "--target", "http://127.0.0.1:9", "--set", "target.base_url=http://127.0.0.1:10"
    )
    line = "--target http://127.0.0.1:9 and --set target.base_url=http://127.0.0.1:10 disagree: give one"
    assert_case(result, 2, line, only_line=True)


def test_target_url_with_a_websocket_scheme(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--target", "ws://127.0.0.1:9")
    line = "--target 'ws://127.0.0.1:9': a target URL is the site's http:// or https:// URL"
    assert_case(result, 2, line, only_line=True)


def test_a_missing_ca_file_is_named_relative_to_the_profile(tmp_path: Path) -> None:
    url = closed_url()
    path = write(tmp_path / "profiles" / "target.toml", f'[target]\nbase_url = "{url}"\nca_file = "ca.pem"\n')
    result = realtime_verify(tmp_path, "run", "--target", str(path), "--check", "HS-001")
    line = f"target.ca_file '{tmp_path / 'profiles' / 'ca.pem'}' does not exist"
    assert_case(result, 2, line, summary="ERROR", ended_early=True)


def test_a_profile_that_does_not_exist(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--target", "staging.toml")
    assert_case(result, 2, "profile staging.toml does not exist", only_line=True)
