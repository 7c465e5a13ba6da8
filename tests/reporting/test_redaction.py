"""Redaction, proven: secrets planted in a real run never reach anything the run leaves behind.

The target is a foreign app (py-rooms: a login form and a signed session cookie), started here with
planted passwords and a fault that fails the chat check, so a failing check saves its artifacts with
tracing on. Its Cloudflare zone is an emulated API that accepts only the planted token, so the audit
really uses it. Then every file under the output folder is read, every zip (the Playwright traces)
unpacked, and the command's stdout and stderr joined: none may hold a planted secret, nor a session
cookie (any cookie of the planted signing secret starts with the same signed payload).
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

from realtime_verify import catalogue as c
from realtime_verify.errors import EXIT_FAILED
from realtime_verify.stack.zone import ZoneApi, serve_zone_api
from tests.fixtures.apps.launch import launched
from tests.reporting.runs import Ran, realtime_verify
from tests.reporting.schema_check import validate_folder

PROFILE = Path(__file__).parents[1] / "fixtures" / "apps" / "py-rooms" / "profile.toml"
EMAILS = ("ann@example.test", "ben@example.test", "cid@example.test")


def planted(kind: str) -> str:
    # Letters and digits only: the same bytes raw, URL-encoded and JSON-escaped.
    return f"planted{kind}{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def secrets_planted() -> dict[str, str]:
    values = {f"password {email}": planted("pw") for email in EMAILS}
    values["cloudflare token"] = planted("cf")
    values["app signing secret"] = planted("sk")
    return values


def session_cookie_heads(signing_secret: str) -> list[str]:
    """The signed payload every session cookie of these users starts with (py-rooms signs {"uid": n})."""
    signer = URLSafeTimedSerializer(signing_secret, salt="rooms-session")
    return [signer.dumps({"uid": number}).split(".")[0] for number in range(1, len(EMAILS) + 1)]


def everything(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under `folder`, and every member of every zip in it (nested zips too)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield from _unpacked(str(path.relative_to(folder)), path.read_bytes())


def _unpacked(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield name, data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _unpacked(f"{name}!{member}", archive.read(member))


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory: pytest.TempPathFactory, secrets_planted: dict[str, str]) -> Ran:
    users = ",".join(f"{email}:{secrets_planted[f'password {email}']}" for email in EMAILS)
    app_env = {"APP_USERS": users, "APP_SECRET": secrets_planted["app signing secret"], "APP_FAULTS": "no-room-emit"}
    zone = ZoneApi(token=secrets_planted["cloudflare token"], zone_name="example.test", site_host="127.0.0.1")
    folder = tmp_path_factory.mktemp("redaction")
    profile = folder / "profile.toml"
    with serve_zone_api(zone) as api_url, launched("py-rooms", env=app_env) as app:
        profile.write_text(
            PROFILE.read_text() + f'\n[cloudflare]\nzone_name = "example.test"\napi_base_url = "{api_url}"\n'
        )
        env = {"CLOUDFLARE_API_TOKEN": secrets_planted["cloudflare token"]}
        for role, email in zip("ABC", EMAILS, strict=True):
            env[f"RV_USER_{role}"] = email
            env[f"RV_USER_{role}_PASSWORD"] = secrets_planted[f"password {email}"]
        ran = realtime_verify(
            folder / "reports",
            *("--target", str(profile), "--set", f"target.base_url={app.base_url}"),
            *("--check", c.RT_002.id, "--check", "CF", "--tracing", "on"),
            env=env,
        )
    assert zone.requests, "the Cloudflare audit never used the planted token"
    return ran


def test_the_run_failed_and_kept_traces(traced_run: Ran) -> None:
    assert traced_run.code == EXIT_FAILED, traced_run.stdout[-3000:] + traced_run.stderr[-2000:]
    traces = sorted(traced_run.output.rglob("trace.zip"))
    assert traces, "no Playwright trace was kept: nothing was proven"
    validate_folder(traced_run.output)


def places(ran: Ran) -> list[tuple[str, bytes]]:
    found = [*everything(ran.output), ("stdout", ran.stdout.encode()), ("stderr", ran.stderr.encode())]
    assert len(found) > 10, "the run left almost nothing: nothing was proven"
    return found


def leaks(ran: Ran, needles: dict[str, str]) -> list[str]:
    return [
        f"{what} in {where}"
        for where, data in places(ran)
        for what, needle in needles.items()
        if needle.encode() in data
    ]


def test_no_password_or_api_token_is_anywhere(traced_run: Ran, secrets_planted: dict[str, str]) -> None:
    needles = {name: value for name, value in secrets_planted.items() if name != "app signing secret"}
    assert leaks(traced_run, needles) == []


def test_no_session_cookie_is_anywhere(traced_run: Ran, secrets_planted: dict[str, str]) -> None:
    heads = session_cookie_heads(secrets_planted["app signing secret"])
    assert leaks(traced_run, {f"session cookie of user {n}": head for n, head in enumerate(heads, start=1)}) == []


def test_traces_are_off_against_a_remote_target_unless_asked(tmp_path: Path, secrets_planted: dict[str, str]) -> None:
    users = ",".join(f"{email}:{secrets_planted[f'password {email}']}" for email in EMAILS)
    env = {f"RV_USER_{role}": email for role, email in zip("AB", EMAILS, strict=False)}
    env |= {
        f"RV_USER_{role}_PASSWORD": secrets_planted[f"password {email}"]
        for role, email in zip("AB", EMAILS, strict=False)
    }
    with launched("py-rooms", env={"APP_USERS": users, "APP_FAULTS": "no-room-emit"}) as app:
        ran = realtime_verify(
            tmp_path / "reports",
            *("--target", str(PROFILE), "--set", f"target.base_url={app.base_url}", "--check", c.RT_002.id),
            env=env,
        )
    assert ran.code == EXIT_FAILED, ran.stdout[-3000:]
    assert sorted(ran.output.rglob("screenshot.png")), "the failed check kept no artifacts at all"
    assert sorted(ran.output.rglob("trace.zip")) == []
