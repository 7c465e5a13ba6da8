from __future__ import annotations

import zipfile
from pathlib import Path

from realtime_verify.reporting.redact import REDACTED, Redactor


def test_known_secrets_and_credential_shapes_are_redacted() -> None:
    redactor = Redactor(["hunter2-password"])
    text = (
        'login {"username":"alice","password":"hunter2-password"} '
        '40{"token":"eyJhbGciOi.abc.def"} Authorization: Bearer abc.def.ghi '
        "wss://x/socket.io/?token=zzz&EIO=4"
    )
    out = redactor.text(text)
    for secret in ("hunter2-password", "eyJhbGciOi.abc.def", "abc.def.ghi", "zzz"):
        assert secret not in out
    assert out.count(REDACTED) >= 4
    assert '"username":"alice"' in out


def test_traces_are_redacted_member_by_member(tmp_path: Path) -> None:
    trace = tmp_path / "trace.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.network", '{"postData":"{\\"password\\":\\"pw-123456\\"}"} s3cr3t-token')
        archive.writestr("resources/abc.png", b"\x89PNG s3cr3t-token")
    Redactor(["s3cr3t-token", "pw-123456"]).zip(trace)
    with zipfile.ZipFile(trace) as archive:
        assert "s3cr3t-token" not in archive.read("trace.network").decode()
        assert "pw-123456" not in archive.read("trace.network").decode()
        assert b"s3cr3t-token" not in archive.read("resources/abc.png")
