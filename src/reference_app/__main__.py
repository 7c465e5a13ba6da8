"""`python -m reference_app --host 127.0.0.1 --port N`: run the reference app alone."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from reference_app.app import create_app
from reference_app.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"reference_app: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # Behind nginx and the edge: trust X-Forwarded-Proto from the loopback proxy only.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        access_log=args.log_level == "debug",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
