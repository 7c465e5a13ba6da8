"""The target profile: precedence, validation, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_verify.config import describe, load_profile, profile_from_target_option
from realtime_verify.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_reference_contract() -> None:
    profile = load_profile(env={})
    assert profile.embedded
    assert profile.ui.chat_input == '[data-testid="chat-input"]'
    assert profile.events.chat_message == "chat:message"
    assert profile.budgets.chat_samples == 30


def test_cli_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    path = write(tmp_path, "[budgets]\nchat_p95_ms = 300\norder_p95_ms = 700\nreconnect_s = 7\n")
    env = {"RV_BUDGETS_CHAT_P95_MS": "200", "RV_BUDGETS_ORDER_P95_MS": "600"}
    profile = load_profile(path, env=env, overrides={"budgets.chat_p95_ms": "100"})
    assert profile.budgets.chat_p95_ms == 100  # --set
    assert profile.budgets.order_p95_ms == 600  # env
    assert profile.budgets.reconnect_s == 7  # file
    assert profile.budgets.heartbeat_interval_s == 30  # default
    assert profile.origins["budgets.chat_p95_ms"] == "--set"
    assert profile.origins["budgets.order_p95_ms"] == "RV_BUDGETS_ORDER_P95_MS"
    assert "budgets.reconnect_s = 7.0  (file)" in describe(profile)


def test_env_values_are_parsed_by_type() -> None:
    env = {
        "RV_TARGET_BASE_URL": "https://app.example.com",
        "RV_TARGET_BEHIND_CLOUDFLARE": "yes",
        "RV_TARGET_RESOLVE": "app.example.com=203.0.113.7, ws.example.com=203.0.113.8",
        "RV_FAULTS_ALLOWED": "client, edge",
        "RV_BUDGETS_NGINX_READ_TIMEOUT_S": "",
    }
    profile = load_profile(env=env)
    assert profile.target.behind_cloudflare is True
    assert profile.target.resolve == {"app.example.com": "203.0.113.7", "ws.example.com": "203.0.113.8"}
    assert profile.faults.allowed == ["client", "edge"]
    assert profile.budgets.nginx_read_timeout_s is None
    assert profile.expected_ws_url == "wss://app.example.com/socket.io/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[target]\nbase_ur = 'https://x.example'", "unknown key target.base_ur. Did you mean 'base_url'?"),
        ("[budget]\n", "unknown section [budget]. Did you mean 'budgets'?"),
        ("[budgets]\nchat_p95_ms = 'fast'", "budgets.chat_p95_ms must be a number, got 'fast'"),
        ("[budgets]\nchat_samples = 2", "at least 5"),
        ("[target]\nbehind_cloudflare = 'yes'", "target.behind_cloudflare must be true or false"),
        ("[target]\nbase_url = 'app.example.com'", "must be an absolute http:// or https:// URL"),
        ("[auth]\nmode = 'forms'", "auth.mode must be one of api, form, none, got 'forms'. Did you mean 'form'?"),
        (
            "[faults]\nallowed = ['clinet']",
            "unknown method 'clinet'; valid: client, edge, backend. Did you mean 'client'?",
        ),
        ("[target\n", "is not valid TOML"),
        ("[auth]\nusers = ['a']", "auth.users must be a table of strings"),
    ],
)
def test_invalid_profiles_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_profile(write(tmp_path, text), env={})
    assert message in str(raised.value)


def test_env_and_set_errors_name_their_source() -> None:
    with pytest.raises(ConfigError, match=r"RV_BUDGETS_RECONNECT_S must be a number, got 'soon'"):
        load_profile(env={"RV_BUDGETS_RECONNECT_S": "soon"})
    with pytest.raises(ConfigError, match=r"--set: unknown key budgets.chat_p99_ms. Did you mean 'chat_p95_ms'\?"):
        load_profile(env={}, overrides={"budgets.chat_p99_ms": "1"})


def test_a_missing_profile_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope.toml", env={})


def test_target_option_takes_a_url_or_a_file(tmp_path: Path) -> None:
    profile = profile_from_target_option("https://staging.example.com", env={})
    assert profile.target.base_url == "https://staging.example.com"
    assert profile.origins["target.base_url"] == "--target"
    with pytest.raises(ConfigError, match="neither a URL"):
        profile_from_target_option("staging", env={})


def test_credentials_come_from_the_env_vars_the_profile_names() -> None:
    profile = load_profile(env={})
    env = {"RV_USER_A": "alice", "RV_USER_A_PASSWORD": "s3cret"}
    credentials = profile.credentials("a", env)
    assert (credentials.username, credentials.password) == ("alice", "s3cret")
    assert "s3cret" not in repr(credentials)
    with pytest.raises(ConfigError, match="RV_USER_B, RV_USER_B_PASSWORD"):
        profile.credentials("b", env)
    assert profile.secret_values({**env, "CLOUDFLARE_API_TOKEN": "tok-123"}) == ["s3cret", "tok-123"]


def test_the_shipped_profiles_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "targets"
    for path in sorted(root.glob("*.toml")):
        load_profile(path, env={})
