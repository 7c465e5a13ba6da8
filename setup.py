"""Build hooks: which packages the wheel holds, and the socket.io browser client it carries.

Everything else is declared in pyproject.toml. The packages are every package under src/, found
(so a new subpackage is never left out), plus `realtime_verify.suite`, which pyproject.toml maps to
tests/e2e: the suite keeps its home in this repository and still ships in the wheel. The client comes from
`node_modules/socket.io-client` (installed by `npm ci`, version pinned in package-lock.json) and is
copied into the wheel at `reference_app/node_modules/socket.io-client/`, where the reference app
finds it (it looks for `node_modules/socket.io-client/dist/` beside and above its own package), so an
installed wheel runs the embedded stack with no Node.js at all.

A build without node_modules still succeeds (a team verifying its own deployed app never starts the
embedded stack) but says so; RV_REQUIRE_BROWSER_CLIENT=1 makes it an error, for release builds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

CLIENT = Path("node_modules/socket.io-client")
SHIPPED = ("dist/socket.io.esm.min.js", "LICENSE", "package.json")
TARGET = Path("reference_app/node_modules/socket.io-client")


class BuildWithBrowserClient(build_py):
    """build_py, plus the socket.io browser client (and its MIT license) as package data."""

    def run(self) -> None:
        super().run()
        missing = [name for name in SHIPPED if not (CLIENT / name).is_file()]
        if missing:
            message = f"{CLIENT} lacks {', '.join(missing)}: run `npm ci` first to ship the reference app's client"
            if os.environ.get("RV_REQUIRE_BROWSER_CLIENT") == "1":
                raise SystemExit(f"error: {message}")
            self.warn(f"{message}; the wheel's embedded stack will ask for RA_SOCKETIO_CLIENT_JS")
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / TARGET / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CLIENT / name, target)


setup(
    packages=[*find_packages("src"), "realtime_verify.suite"],
    cmdclass={"build_py": BuildWithBrowserClient},
)
