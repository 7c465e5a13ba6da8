"""nginx's own words on a syntax error: `nginx -t` on a neutralised copy, in a temp folder.

crossplane is the parser; nginx is the authority on what it accepts. When nginx is installed, the
configuration as the audit resolved it (every file, each `include` pointing at the copy of what it
resolved to) is given to one `nginx -t`, so that nginx reports errors crossplane does not see; a
file crossplane cannot parse is given alone, wrapped in its context, for nginx's words. nginx must
never read or write this machine's configuration, so the copies are neutralised, line numbers kept:

- `include` points at the temp copies only; `load_module`, `user`, `pid`, certificate and key
  files, GeoIP/njs/perl files are blanked (nginx reads them while parsing or merging the http block);
- host names in `*_pass` and upstream `server` lines become 127.0.0.1 (nginx resolves them while
  parsing);
- the wrapper ends with an unknown directive (the sentinel): nginx stops at the first error, at the
  latest there, so always before it opens logs, the pid file or temp paths (which it does only
  once the whole configuration is read). `-p`, `-e` and `pid` point into the temp folder.

Only errors that do not depend on this machine's nginx build count (tokens, braces, argument
counts, contexts, duplicates); "unknown directive" (a module or a newer version), unresolvable
hosts and invalid values (`${VAR}` templates) are left to the checks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
TIMEOUT_S = 5.0
SENTINEL = "realtime_verify_end_of_input"
FATAL = re.compile(
    r"unexpected|expecting|unbalanced|unterminated|invalid number of arguments|is not allowed here|is duplicate"
    r"|has no opening|is not terminated|cannot have URI part"
)
# Directives that read or name this machine's files while nginx parses or merges the http block.
_BLANKED = re.compile(
    r"(^|(?<=[;{}]))(\s*)((?:load_module|user|pid|geoip\w*|js_\w+|perl_\w+|(?:\w+_)?ssl_(?:certificate(?:_key)?"
    r"|trusted_certificate|client_certificate|crl|dhparam|password_file|stapling_file|session_ticket_key))"
    r"\s[^;{}]*;)",
    re.MULTILINE,
)
_INCLUDE = re.compile(r"(^|(?<=[;{}]))(\s*)(include\s+([^;{}]*);)", re.MULTILINE)
_PASS_HOST = re.compile(
    r"(^|(?<=[;{}]))(\s*(?:proxy|grpc|uwsgi|scgi|fastcgi|memcached)_pass\s+(?:[a-z]+://)?)([A-Za-z][\w.-]*)(?![\w.-]|://)",
    re.MULTILINE,
)
_UPSTREAM_SERVER = re.compile(r"(^|(?<=[;{}]))(\s*server\s+)([A-Za-z][\w.-]*)(?=[\s:;])", re.MULTILINE)
_EMERG = re.compile(r"\[emerg\] (?P<message>.*) in (?P<file>\S+):(?P<line>\d+)\s*$")
# How to open each block an include can sit in (the arguments only have to be valid).
_OPENERS = {
    "http": "http",
    "events": "events",
    "stream": "stream",
    "mail": "mail",
    "server": "server",
    "location": "location /",
    "if": "if ($uri)",
    "upstream": "upstream realtime_verify_upstream",
    "limit_except": "limit_except GET",
    "types": "types",
}


@dataclass(frozen=True)
class NginxError:
    """The first error nginx reports in the checked file."""

    message: str
    line: int


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def neutralise(text: str, includes: Callable[[int, str], list[str]] | None = None) -> str:
    """The text with every file- or host-touching directive made harmless, line numbers kept.

    `includes(line, argument)` names the copies an include stands for; without it includes are blanked.
    """

    def blank(match: re.Match[str]) -> str:
        return match.group(1) + match.group(2) + _blank(match.group(3))

    def include(match: re.Match[str]) -> str:
        line = text.count("\n", 0, match.start(3)) + 1
        argument = match.group(4).strip().strip("\"'")
        copies = includes(line, argument) if includes else []
        statement = " ".join(f"include {copy};" for copy in copies)
        newlines = "\n" * match.group(3).count("\n")
        return match.group(1) + match.group(2) + statement + newlines

    def localhost(match: re.Match[str]) -> str:
        host = match.group(3)
        return match.group(0) if host == "unix" else match.group(1) + match.group(2) + "127.0.0.1"

    text = _INCLUDE.sub(include, text)
    text = _BLANKED.sub(blank, text)
    text = _PASS_HOST.sub(localhost, text)
    return _UPSTREAM_SERVER.sub(localhost, text)


def nginx_error(text: str, context: tuple[str, ...]) -> NginxError | None:
    """The error nginx reports for `text` alone, read in `context` (enclosing block names), if one counts."""
    found = nginx_tree_error({"input": text}, {}, "input", context)
    return found[1] if found else None


def nginx_tree_error(
    texts: dict[str, str], includes: dict[tuple[str, int, str], list[str]], top: str, context: tuple[str, ...]
) -> tuple[str, NginxError] | None:
    """The first error nginx reports for a resolved configuration, if one counts: (file, error).

    `texts`: every file's text by name; `includes`: (file, line, argument) -> the files it resolved to.
    """
    binary = find_nginx()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="rv-nginx-t-") as tmp:
        folder = Path(tmp)
        copies = {name: folder / f"file{number}.conf" for number, name in enumerate(texts)}
        for name, text in texts.items():

            def resolved(line: int, argument: str, name: str = name) -> list[str]:
                return [str(copies[f]) for f in includes.get((name, line, argument), []) if f in copies]

            copies[name].write_text(neutralise(text, resolved))
        opened = [_OPENERS[name] for name in context if name in _OPENERS]
        main = " ".join(f"{opener} {{" for opener in opened) + f" include {copies[top]}; " + "}" * len(opened)
        (folder / "nginx.conf").write_text(f"{main}\n{SENTINEL};\n")
        command = [binary, "-t", "-q", "-p", f"{folder}/", "-c", str(folder / "nginx.conf")]
        command += ["-e", str(folder / "error.log"), "-g", f"pid {folder}/nginx.pid;"]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                cwd=folder,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None  # nginx cannot be asked: crossplane's reading stands
    names = {str(copy): name for name, copy in copies.items()}
    for line in done.stderr.splitlines():
        found = _EMERG.search(line)
        if found is None or SENTINEL in found["message"]:
            continue
        if found["file"] in names and FATAL.search(found["message"]):
            return names[found["file"]], NginxError(found["message"], int(found["line"]))
        return None
    return None
