"""The target profile: every key from every source, precedence, validation and errors that say what to fix."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.config import (
    SECTIONS,
    Profile,
    describe,
    fill_template,
    get_path,
    load_profile,
    parse_overrides,
    profile_from_target_option,
)
from realtime_verify.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]
EVERY_KEY = [(section, key) for section, model in SECTIONS.items() for key in model.model_fields]


def write(folder: Path, text: str | bytes, name: str = "target.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _plain_type(annotation: Any) -> Any:
    """The annotation without `| None` and `Annotated[...]`."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def sample(section: str, key: str) -> tuple[str, Any]:
    """A text a user could put in RV_<SECTION>_<KEY> or --set, and the value it must become (not the default)."""
    field = SECTIONS[section].model_fields[key]
    kind = _plain_type(field.annotation)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        return ("false", False) if field.default else ("true", True)
    if kind in (int, float):
        return "7", kind(7)
    if origin is typing.Literal:
        choice = next(a for a in args if a != field.default)
        return choice, choice
    if origin is list and typing.get_origin(args[0]) is typing.Literal:
        choices = [a for a in typing.get_args(args[0]) if a not in field.default][:2]
        return '["' + '", "'.join(choices) + '"]', choices
    if origin is list:
        return '["one.txt", "two.txt"]', ["one.txt", "two.txt"]
    if origin is dict:
        return '{"x": "y"}', {"x": "y"}
    assert kind is str, f"no sample for {section}.{key}: {field.annotation}"
    if key == "socket_path":
        return "/rt", "/rt/"
    if key.endswith("url"):
        return "https://k.example", "https://k.example"
    return f"value-of-{key}", f"value-of-{key}"


# Every key, every source -------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "key"), EVERY_KEY, ids=[f"{s}.{k}" for s, k in EVERY_KEY])
def test_every_key_is_read_from_the_environment_and_from_set(section: str, key: str) -> None:
    raw, expected = sample(section, key)
    assert expected != getattr(Profile(), section).model_dump()[key], "the sample must differ from the default"
    env_name = f"RV_{section}_{key}".upper()
    from_env = load_profile(env={env_name: raw})
    assert getattr(getattr(from_env, section), key) == expected
    assert from_env.origins[f"{section}.{key}"] == env_name
    assert f"{section}.{key} = {expected!r}  ({env_name})" in describe(from_env)
    from_set = load_profile(env={}, overrides={f"{section}.{key}": raw})
    assert getattr(getattr(from_set, section), key) == expected
    assert from_set.origins[f"{section}.{key}"] == "--set"


def test_the_sample_covers_every_section() -> None:
    assert {section for section, _ in EVERY_KEY} == {
        "target",
        "app",
        "auth",
        "ui",
        "events",
        "items",
        "cleanup",
        "budgets",
        "faults",
        "cloudflare",
        "config_files",
    }


# Paths a profile file gives are read from the profile's folder (tested in detail below).
RESOLVED_FROM_THE_FOLDER = {
    ("target", "ca_file"),
    ("config_files", "env"),
    ("config_files", "k8s"),
    ("config_files", "nginx"),
    ("config_files", "nginx_root"),
    ("config_files", "nginx_path_map"),
}


def _in_folder(value: Any, folder: Path) -> Any:
    if isinstance(value, list):
        return [str(folder / item) for item in value]
    if isinstance(value, dict):
        return {key: str(folder / item) for key, item in value.items()}
    return str(folder / value)


def test_every_key_is_read_from_the_profile_file(tmp_path: Path) -> None:
    lines: dict[str, list[str]] = {}
    for section, key in EVERY_KEY:
        _, expected = sample(section, key)
        lines.setdefault(section, []).append(f"{key} = {_toml(expected)}")
    text = "\n".join(f"[{section}]\n" + "\n".join(keys) for section, keys in lines.items())
    profile = load_profile(write(tmp_path, text), env={})
    for section, key in EVERY_KEY:
        _, expected = sample(section, key)
        if (section, key) in RESOLVED_FROM_THE_FOLDER:
            expected = _in_folder(expected, tmp_path)
        assert getattr(getattr(profile, section), key) == expected, f"{section}.{key}"
        assert profile.origins[f"{section}.{key}"] == "file"


def test_the_keys_resolved_from_the_folder_exist() -> None:
    assert {(s, k) for s, k in RESOLVED_FROM_THE_FOLDER} <= set(EVERY_KEY)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


# Precedence and parsing --------------------------------------------------------------------------


def test_defaults_are_the_reference_contract() -> None:
    profile = load_profile(env={})
    assert profile.embedded
    assert profile.source == "defaults"
    assert profile.ui.chat_input == '[data-testid="chat-input"]'
    assert profile.events.chat_send == "chat:message"
    assert profile.events.chat_received == "chat:message"
    assert profile.items.event == "orders:update"
    assert profile.budgets.chat_samples == 30
    assert describe(profile) == []


def test_set_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    path = write(tmp_path, "[budgets]\nchat_p95_ms = 300\nitem_p95_ms = 700\nreconnect_s = 7\n")
    env = {"RV_BUDGETS_CHAT_P95_MS": "200", "RV_BUDGETS_ITEM_P95_MS": "600"}
    profile = load_profile(path, env=env, overrides={"budgets.chat_p95_ms": "100"})
    assert profile.budgets.chat_p95_ms == 100
    assert profile.budgets.item_p95_ms == 600
    assert profile.budgets.reconnect_s == 7
    assert profile.budgets.heartbeat_interval_s == 30
    assert profile.origins["budgets.chat_p95_ms"] == "--set"
    assert profile.origins["budgets.item_p95_ms"] == "RV_BUDGETS_ITEM_P95_MS"
    assert "budgets.reconnect_s = 7.0  (file)" in describe(profile)
    assert profile.source == str(path)


def test_text_values_are_shaped_for_their_field() -> None:
    env = {
        "RV_TARGET_BASE_URL": "https://app.example.com",
        "RV_TARGET_BEHIND_CLOUDFLARE": "yes",
        "RV_TARGET_RESOLVE": "app.example.com=203.0.113.7, ws.example.com=203.0.113.8",
        "RV_FAULTS_ALLOWED": "client, edge",
        "RV_CONFIG_FILES_ENV": ".env, .env.production",
        "RV_BUDGETS_NGINX_READ_TIMEOUT_S": "",
    }
    profile = load_profile(env=env)
    assert profile.target.behind_cloudflare is True
    assert profile.target.resolve == {"app.example.com": "203.0.113.7", "ws.example.com": "203.0.113.8"}
    assert profile.faults.allowed == ["client", "edge"]
    assert profile.config_files.env == [".env", ".env.production"]
    assert profile.budgets.nginx_read_timeout_s is None
    assert profile.expected_ws_url == "wss://app.example.com/socket.io/"
    assert profile.socket_base == "https://app.example.com"


def test_lists_and_tables_as_json() -> None:
    env = {
        "RV_ITEMS_STATUSES": '["todo", "doing, still", "done"]',
        "RV_AUTH_USERS": '{"a": "QA_ONE", "b": "QA_TWO"}',
        "RV_FAULTS_ALLOWED": '["client", "backend"]',
    }
    profile = load_profile(env=env)
    assert profile.items.statuses == ["todo", "doing, still", "done"], "a comma inside a JSON string is kept"
    assert profile.auth.users == {"a": "QA_ONE", "b": "QA_TWO"}
    assert profile.faults.allowed == ["client", "backend"]


def test_a_profile_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff[budgets]\nchat_p95_ms = 120\n".encode())
    assert load_profile(path, env={}).budgets.chat_p95_ms == 120


def test_relative_file_paths_are_read_from_the_profiles_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "deploy" / "staging"
    absolute = tmp_path / "elsewhere" / "app.conf"
    path = write(
        folder,
        f"""[target]
ca_file = "certs/ca.pem"
[config_files]
env = [".env.production", "{tmp_path}/shared.env"]
k8s = ["k8s/web-configmap.yaml"]
nginx = "{absolute}"
nginx_root = "etc-nginx"
nginx_path_map = {{ "/data/nginx" = "deploy/npm" }}
""",
    )
    monkeypatch.chdir(tmp_path)
    files = load_profile(path, env={}).config_files
    assert files.env == [str(folder / ".env.production"), f"{tmp_path}/shared.env"]
    assert files.k8s == [str(folder / "k8s" / "web-configmap.yaml")]
    assert files.nginx == str(absolute)
    assert files.nginx_root == str(folder / "etc-nginx")
    assert files.nginx_path_map == {"/data/nginx": str(folder / "deploy" / "npm")}
    assert load_profile(path, env={}).target.ca_file == str(folder / "certs" / "ca.pem")


def test_target_option_takes_a_url_or_a_file(tmp_path: Path) -> None:
    profile = profile_from_target_option("https://staging.example.com", env={})
    assert profile.target.base_url == "https://staging.example.com"
    assert profile.origins["target.base_url"] == "--target"
    path = write(tmp_path, "[target]\nbase_url = 'https://file.example.com'\n")
    assert profile_from_target_option(str(path), env={}).target.base_url == "https://file.example.com"
    with pytest.raises(ConfigError, match="neither a URL"):
        profile_from_target_option("staging", env={})
    assert profile_from_target_option(None, env={}).embedded


def test_target_url_and_set_base_url_must_agree() -> None:
    with pytest.raises(ConfigError) as raised:
        profile_from_target_option(
            "https://a.example.com", env={}, overrides={"target.base_url": "https://b.example.com"}
        )
    assert "--target https://a.example.com and --set target.base_url=https://b.example.com disagree" in str(
        raised.value
    )
    same = profile_from_target_option(
        "https://a.example.com", env={}, overrides={"target.base_url": "https://a.example.com"}
    )
    assert same.target.base_url == "https://a.example.com"


def test_set_items_must_be_key_equals_value() -> None:
    assert parse_overrides(["budgets.chat_p95_ms=200", "ui.chat_input=#a=b"]) == {
        "budgets.chat_p95_ms": "200",
        "ui.chat_input": "#a=b",
    }
    with pytest.raises(ConfigError, match=r"expected SECTION\.KEY=VALUE"):
        parse_overrides(["budgets.chat_p95_ms"])


def test_secret_values_are_the_passwords_and_the_api_token() -> None:
    profile = load_profile(env={})
    env = {"RV_USER_A": "alice", "RV_USER_A_PASSWORD": "s3cret", "CLOUDFLARE_API_TOKEN": "tok-123", "OTHER": "x"}
    assert profile.secret_values(env) == ["s3cret", "tok-123"]


def test_replace_changes_only_the_keys_given() -> None:
    profile = load_profile(env={}).replace(target={"base_url": "https://x.example"}, faults={"allowed": ["edge"]})
    assert profile.target.base_url == "https://x.example"
    assert profile.target.socket_path == "/socket.io/"
    assert profile.faults.allowed == ["edge"]


# Errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[target]\nbase_ur = 'https://x.example'", "unknown key target.base_ur. Did you mean 'base_url'?"),
        ("[items]\nid_paht = 'x'", "Did you mean 'id_path'? Valid keys of [items]:"),
        ("[budget]\n", "unknown section [budget]. Did you mean 'budgets'?"),
        ("[api]\norders = ''", "unknown section [api]."),
        ("target = 1", "target must be a table, [target]"),
        ("[budgets]\nchat_p95_ms = 'fast'", "budgets.chat_p95_ms must be a number, got 'fast'"),
        ("[budgets]\nchat_samples = 2", "budgets.chat_samples: Input should be greater than or equal to 5"),
        ("[target]\nbehind_cloudflare = 'maybe'", "target.behind_cloudflare must be true or false, got 'maybe'"),
        ("[target]\nbase_url = 'app.example.com'", "must be an absolute http:// or https:// URL"),
        ("[target]\nsocket_path = 'socket.io'", "target.socket_path: must start with /"),
        (
            "[auth]\nmode = 'forms'",
            "auth.mode must be one of 'api', 'form', 'storage_state', 'nickname' or 'none', got 'forms'."
            " Did you mean 'form'?",
        ),
        (
            "[app]\nchat = 'rooms'",
            "app.chat must be one of 'direct', 'room', 'broadcast' or 'none', got 'rooms'. Did you mean 'room'?",
        ),
        ("[faults]\nallowed = ['clinet']", "must be one of 'client', 'edge' or 'backend', got 'clinet'."),
        ("[target\n", "is not valid TOML"),
        ("[auth]\nusers = ['a']", "auth.users must be a table of strings"),
    ],
)
def test_invalid_profiles_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_profile(write(tmp_path, text), env={})
    assert message in str(raised.value)


def test_unknown_keys_list_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_profile(write(tmp_path, "[cleanup]\nchats = ''"), env={})
    assert str(raised.value).endswith("Valid keys of [cleanup]: chat")


@pytest.mark.parametrize(
    "key",
    [
        "target.connect_timeout_s",
        "budgets.chat_p95_ms",
        "budgets.item_p95_ms",
        "budgets.reconnect_s",
        "budgets.heartbeat_interval_s",
        "budgets.ping_interval_s",
        "budgets.ping_timeout_s",
        "budgets.edge_idle_timeout_s",
        "budgets.nginx_read_timeout_s",
        "faults.max_check_s",
    ],
)
@pytest.mark.parametrize("value", ["0", "-1"])
def test_timeouts_and_budgets_must_be_above_zero(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_profile(env={}, overrides={key: value})
    assert str(raised.value).startswith(f"{key} (from --set)")
    assert "greater than" in str(raised.value)


def test_a_profile_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    latin1 = "[target]\nbase_url = 'https://café.example'\n".encode("latin-1")
    path = write(tmp_path, latin1)
    with pytest.raises(ConfigError) as raised:
        load_profile(path, env={})
    assert str(raised.value) == f"profile {path} is not UTF-8 (byte {latin1.index(0xE9)}): save it as UTF-8"


def test_a_missing_or_huge_profile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="a profile is at most"):
        load_profile(write(tmp_path, "#" * 1_000_001), env={})


def test_env_and_set_errors_name_their_source() -> None:
    with pytest.raises(ConfigError, match=r"budgets.reconnect_s \(from RV_BUDGETS_RECONNECT_S\) must be a number"):
        load_profile(env={"RV_BUDGETS_RECONNECT_S": "soon"})
    with pytest.raises(ConfigError, match=r"--set: unknown key budgets.chat_p99_ms. Did you mean 'chat_p95_ms'\?"):
        load_profile(env={}, overrides={"budgets.chat_p99_ms": "1"})
    with pytest.raises(ConfigError, match=r"--set: unknown section 'budget'. Did you mean 'budgets'\?"):
        load_profile(env={}, overrides={"budget.chat_p95_ms": "1"})
    with pytest.raises(ConfigError, match=r"app.items \(from --set\) must be one of .* Did you mean 'orders'\?"):
        load_profile(env={}, overrides={"app.items": "order"})


def test_an_error_in_a_list_item_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[faults]\nallowed = ['client', 'edg']")
    with pytest.raises(ConfigError) as raised:
        load_profile(path, env={})
    assert str(raised.value).startswith(f"{path}: faults.allowed.1 must be one of")
    assert "Did you mean 'edge'?" in str(raised.value)


def test_config_errors_are_usage_errors_exit_2() -> None:
    assert issubclass(ConfigError, UsageError)
    assert ConfigError("x").exit_code == 2


# Payload helpers ---------------------------------------------------------------------------------


def test_get_path_reads_dotted_paths() -> None:
    data = {"user": {"id": 7}, "items": [{"id": "a"}], "text": "hi"}
    assert get_path(data, "user.id") == 7
    assert get_path(data, "items.0.id") == "a"
    assert get_path(data, "") is data
    assert get_path(data, "user.name") is None
    assert get_path(data, "items.5.id") is None
    assert get_path("plain", "text") is None


def test_fill_template_keeps_the_type_of_a_lone_placeholder_and_escapes_text() -> None:
    payload = fill_template(
        '{"to": "{peer_id}", "text": "{text}", "meta": ["{room}", "at {room}"]}',
        {"peer_id": 42, "text": 'say "hi"\n', "room": "general"},
        "events.chat_payload",
    )
    assert payload == {"to": 42, "text": 'say "hi"\n', "meta": ["general", "at general"]}
    with pytest.raises(ConfigError, match=r"events\.chat_payload is not valid JSON"):
        fill_template("{to: {peer_id}}", {"peer_id": 1}, "events.chat_payload")


# The profiles shipped in targets/ ----------------------------------------------------------------

SHIPPED = sorted((ROOT / "targets").rglob("*.toml"))


def test_the_shipped_profiles_are_there() -> None:
    assert {path.name for path in SHIPPED} >= {"local.toml", "staging.example.toml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT / "targets")))
def test_a_shipped_profile_is_valid_and_sets_something(path: Path) -> None:
    try:
        profile = load_profile(path, env={})
    except ConfigError as error:
        # An assertion, not the ConfigError: the plugin ends a whole session on a UsageError.
        pytest.fail(str(error))
    assert profile.source == str(path)
    assert any(origin == "file" for origin in profile.origins.values()), "a profile that sets nothing shows nothing"
    assert profile.embedded == (path.name == "local.toml")
