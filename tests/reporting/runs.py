"""Running `realtime-verify run` as a user does, bounded in time, for the tests of real reports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RUN_TIMEOUT_S = 240


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    output: Path


def realtime_verify(output: Path, *arguments: str, env: Mapping[str, str] | None = None) -> Ran:
    """`realtime-verify run --output OUTPUT ARGUMENTS...` in a subprocess of this interpreter's venv."""
    command = [str(Path(sys.executable).with_name("realtime-verify")), "run", "--output", str(output), *arguments]
    done = subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr, output)
