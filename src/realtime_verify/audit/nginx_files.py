"""Reading an nginx configuration the way nginx reads it: files, includes, and what cannot be read.

- The file given is the main `nginx.conf` (it has `http`/`events` at its top), an http-context
  fragment (a conf.d or sites-available file: servers, upstreams, maps), or a server-context
  fragment (top-level `location` blocks, such as Plesk's vhost_nginx.conf), read as one server.
- A relative include resolves from nginx's conf prefix: the folder of the main conf, or for a
  fragment the folder that stands for /etc/nginx (`nginx_root`); never from the including file's folder.
- An absolute include resolves only through `path_map` ({"/etc/nginx": nginx_root, ...}); it is
  never read from this machine, whose /etc/nginx belongs to another server. Nothing outside the
  given folders is read, symlinks included.
- A glob that matches nothing includes nothing, as in nginx. A file that cannot be read stays in the
  tree as a marker (`unreadable`) where it was included, so that every check that looks there can
  say that its answer depends on it; stock files that cannot change a check are only noted, and
  Debian's `proxy_params` is read as the stock file it is (two versions, see `PROXY_PARAMS`).
- Syntax errors are UsageError with nginx's own words where nginx is installed (`nginx_syntax`);
  an include cycle is a UsageError too.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import crossplane

from realtime_verify.audit.files import read_input
from realtime_verify.audit.nginx_syntax import nginx_error, nginx_tree_error
from realtime_verify.errors import UsageError

Directive = dict[str, Any]
Kind = Literal["main", "http", "server"]

MAX_FILES = 500
# Stock files of nginx packages and certbot that set nothing an NGX check reads (MIME types,
# charsets, FastCGI/uwsgi/SCGI parameters, TLS settings).
STOCK_FILES = {
    "mime.types",
    "fastcgi_params",
    "fastcgi.conf",
    "scgi_params",
    "uwsgi_params",
    "koi-utf",
    "koi-win",
    "win-utf",
    "options-ssl-nginx.conf",
    "fastcgi-php.conf",
    "snakeoil.conf",
}
STOCK_GLOB_FOLDERS = {"modules-enabled", "modules"}  # load_module lines only
# Debian's proxy_params: Host is $http_host up to 1.22.1-9+deb12u5 and $host since 1.22.1-9+deb12u6.
PROXY_PARAMS = "proxy_params"
PROXY_PARAMS_HEADERS = (
    ("Host", "$http_host", ("$host",)),
    ("X-Real-IP", "$remote_addr", ()),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for", ()),
    ("X-Forwarded-Proto", "$scheme", ()),
)
_MAIN_ONLY = {"http", "events", "stream", "mail", "worker_processes", "user", "pid", "load_module", "daemon"}
_HTTP_LEVEL = {"server", "upstream", "map", "geo", "split_clients", "log_format", "limit_req_zone"}
_SERVER_LEVEL = {"location", "listen", "server_name", "proxy_pass", "try_files", "return", "rewrite"}


@dataclass(frozen=True)
class Unreadable:
    """An include nginx would read but the audit cannot: what it names, where, and why."""

    include: str
    at: str
    reason: str

    def describe(self) -> str:
        return f"`include {self.include}` at {self.at} cannot be read ({self.reason})"


@dataclass
class NginxConf:
    """A configuration as nginx would assemble it: one tree, includes in place."""

    source: Path
    kind: Kind
    tree: list[Directive]  # main context, or the http context for a fragment
    unreadable: list[Unreadable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # stock files not given, empty globs
    files: list[str] = field(default_factory=list)

    def http_blocks(self) -> list[list[Directive]]:
        """The http-context blocks, outermost first (a fragment is its own http block)."""
        if self.kind != "main":
            return [self.tree]
        return [d["block"] for d in self.tree if d["directive"] == "http" and "block" in d]


def where(directive: Directive) -> str:
    synthetic: str | None = directive.get("synthetic")
    return synthetic or f"{directive['file']}:{directive['line']}"


def load_conf(path: Path, *, nginx_root: Path | None = None, path_map: dict[str, Path] | None = None) -> NginxConf:
    """Read `path` and what it includes; `nginx_root` stands for /etc/nginx, `path_map` for other folders."""
    return _Loader(path, nginx_root, path_map or {}).load()


def not_nginx(text: str) -> str | None:
    """What the text is instead, when it is plainly not an nginx conf (a manifest, compose, JSON)."""
    kind = re.search(r"(?m)^kind:\s*[\"']?(\w+)", text)
    if kind and re.search(r"(?m)^apiVersion:\s*\S", text):
        return f"a Kubernetes manifest (kind: {kind[1]})"
    if re.search(r"(?m)^services:\s*$", text):
        return "a docker-compose file"
    if text.lstrip().startswith(("{", "[")):
        return "JSON"
    return None


class _Loader:
    def __init__(self, source: Path, nginx_root: Path | None, path_map: dict[str, Path]) -> None:
        self.source = source
        maps = dict(path_map)
        if nginx_root is not None:
            maps.setdefault("/etc/nginx", nginx_root)
        self.maps = sorted(((key.rstrip("/") or "/", folder) for key, folder in maps.items()), key=lambda m: -len(m[0]))
        self.nginx_root = nginx_root
        self.prefix: Path | None = None
        self.roots = [Path(folder).resolve() for _, folder in self.maps] + [source.resolve().parent]
        self.stack: list[Path] = []
        self.conf = NginxConf(source, "http", [])
        # For nginx -t: every file's text, and what each include resolved to.
        self.texts: dict[str, str] = {}
        self.resolved: dict[tuple[str, int, str], list[str]] = {}

    def load(self) -> NginxConf:
        text = read_input(self.source, "an nginx configuration")
        instead = not_nginx(text)
        if instead:
            raise UsageError(_not_nginx_message(self.source, instead))
        parsed = self._parse(self.source, text, None)
        names = {d["directive"] for d in parsed}
        kind: Kind = "main" if names & _MAIN_ONLY else "http"
        if kind == "http" and not names & _HTTP_LEVEL and names & _SERVER_LEVEL:
            kind = "server"
        self.prefix = self.source.parent if kind == "main" else self.nginx_root
        context = _CONTEXTS[kind]
        self.texts[str(self.source)] = text
        self.stack.append(self.source.resolve())
        tree = self._expand(parsed, str(self.source), context)
        said = nginx_tree_error(self.texts, self.resolved, str(self.source), context)
        if said is not None:
            raise UsageError(f"{said[0]}:{said[1].line}: not valid nginx syntax (nginx -t): {said[1].message}")
        if kind == "server":
            tree = [
                {
                    "directive": "server",
                    "args": [],
                    "line": 1,
                    "file": str(self.source),
                    "block": tree,
                    "synthetic": f"{self.source} (read as the inside of one server block)",
                }
            ]
        self.conf.kind, self.conf.tree = kind, tree
        self.conf.files.insert(0, str(self.source))
        return self.conf

    def _parse(self, path: Path, text: str, context: tuple[str, ...] | None) -> list[Directive]:
        """crossplane's parse of one file; `context` None: the file given, whose kind is not known yet."""
        payload = crossplane.parse(str(path), single=True, comments=False, check_ctx=False, check_args=False)
        if payload["status"] != "ok":
            instead = _looks_like(text)
            if instead:
                raise UsageError(_not_nginx_message(path, instead))
            _ask_nginx(path, text, _guess_context(text) if context is None else context)
            error = payload["errors"][0]
            message = re.sub(r" in \S+:\d+$", "", str(error.get("error") or "cannot be parsed"))
            raise UsageError(f"{path}:{error.get('line') or '?'}: not valid nginx syntax: {message}")
        parsed: list[Directive] = payload["config"][0]["parsed"]
        return parsed

    def _expand(self, block: list[Directive], file: str, context: tuple[str, ...]) -> list[Directive]:
        out: list[Directive] = []
        for directive in block:
            directive = {**directive, "file": file}
            if directive["directive"] == "include":
                out.extend(self._include(directive, context))
                continue
            if "block" in directive:
                inner = (*context, directive["directive"])
                directive["block"] = self._expand(directive["block"], file, inner)
            out.append(directive)
        return out

    def _include(self, directive: Directive, context: tuple[str, ...]) -> list[Directive]:
        arg = str(directive["args"][0]) if directive.get("args") else ""
        at = where(directive)
        local, reason = self._locate(arg)
        pattern = any(ch in arg for ch in "*?[")
        included = self.resolved.setdefault((str(directive["file"]), int(directive["line"]), arg), [])
        if local is None:
            return self._missing(directive, arg, at, reason, pattern)
        if pattern:
            files = [Path(m) for m in sorted(glob.glob(str(local))) if Path(m).is_file()]
            if not files:
                self.conf.notes.append(
                    f"`include {arg}` at {at} matches no file: it includes nothing (nginx accepts that)"
                )
        elif local.is_file():
            files = [local]
        else:
            return self._missing(directive, arg, at, f"no file {local}", pattern)
        out = []
        for one in files:
            out += self._read_included(one, arg, at, directive, context)
            included.append(str(one))
        return out

    def _locate(self, arg: str) -> tuple[Path | None, str]:
        """The local path (or glob) an include names, or why there is none."""
        if PurePosixPath(arg).is_absolute():
            mapped = self._map_absolute(arg)
            if mapped is None:
                return None, "an absolute path on the nginx server, outside the folders given to the audit"
            return mapped, ""
        if self.prefix is None:
            return None, "relative paths resolve from nginx's prefix (/etc/nginx), which was not given"
        return self.prefix / arg, ""

    def _map_absolute(self, arg: str) -> Path | None:
        for key, folder in self.maps:
            if arg == key or arg.startswith(key.rstrip("/") + "/"):
                return Path(folder) / arg[len(key) :].lstrip("/")
        return None

    def _read_included(
        self, local: Path, arg: str, at: str, directive: Directive, context: tuple[str, ...]
    ) -> list[Directive]:
        real = self._inside_roots(local)
        if real is None:
            return self._missing(directive, arg, at, f"{local} leads outside the folders given to the audit", False)
        if real in self.stack:
            chain = " -> ".join(str(p) for p in [*self.stack[self.stack.index(real) :], real])
            raise UsageError(f"include cycle at {at}: {chain}; nginx would never finish reading it")
        if len(self.conf.files) >= MAX_FILES:
            raise UsageError(
                f"{self.source} includes more than {MAX_FILES} files: is `include` pointing at the right folder?"
            )
        self.conf.files.append(str(local))
        text = read_input(local, "an nginx configuration")
        self.texts[str(local)] = text
        parsed = self._parse(local, text, context)
        self.stack.append(real)
        try:
            return self._expand(parsed, str(local), context)
        finally:
            self.stack.pop()

    def _inside_roots(self, local: Path) -> Path | None:
        """The real path of `local` when it stays inside the given folders (absolute symlinks mapped)."""
        for _ in range(8):
            if not local.is_symlink():
                break
            target = os.readlink(local)
            if PurePosixPath(target).is_absolute():
                mapped = self._map_absolute(target)
                if mapped is None:
                    return None
                local = mapped
            else:
                local = local.parent / target
        real = local.resolve()
        roots = [*self.roots, *([self.prefix.resolve()] if self.prefix else [])]
        return real if any(real == root or root in real.parents for root in roots) else None

    def _missing(self, directive: Directive, arg: str, at: str, reason: str, pattern: bool) -> list[Directive]:
        name = PurePosixPath(arg).name
        folder = PurePosixPath(arg).parent.name
        if name == PROXY_PARAMS:
            self.conf.notes.append(f"`include {arg}` at {at}: not given, read as Debian's stock proxy_params")
            return _proxy_params(directive, at)
        if name in STOCK_FILES or (pattern and folder in STOCK_GLOB_FOLDERS):
            self.conf.notes.append(f"`include {arg}` at {at}: not given; a stock file that changes no check")
            return []
        unreadable = Unreadable(arg, at, reason)
        self.conf.unreadable.append(unreadable)
        return [{**directive, "unreadable": unreadable}]


_CONTEXTS: dict[Kind, tuple[str, ...]] = {"main": (), "http": ("http",), "server": ("http", "server")}


def _ask_nginx(path: Path, text: str, context: tuple[str, ...]) -> None:
    """UsageError in nginx's words when nginx (if installed) rejects the file."""
    said = nginx_error(text, context)
    if said is not None:
        raise UsageError(f"{path}:{said.line}: not valid nginx syntax (nginx -t): {said.message}")


def _guess_context(text: str) -> tuple[str, ...]:
    if re.search(r"(?m)^\s*(http|events)\s*\{", text):
        return _CONTEXTS["main"]
    if re.search(r"(?m)^\s*(server|upstream|map)\b", text):
        return _CONTEXTS["http"]
    return _CONTEXTS["server"]


def _proxy_params(include: Directive, at: str) -> list[Directive]:
    label = f"proxy_params (Debian's stock file, not given; included at {at})"
    return [
        {
            "directive": "proxy_set_header",
            "args": [name, value],
            "alternatives": list(others),
            "line": include["line"],
            "file": include["file"],
            "synthetic": label,
        }
        for name, value, others in PROXY_PARAMS_HEADERS
    ]


def _looks_like(text: str) -> str | None:
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if re.match(r"^[\w.-]+:(\s|$)", first) or first.strip() == "---":
        return "YAML"
    if re.match(r"^(export\s+)?[A-Za-z_]\w*=", first):
        return "an env file (KEY=value lines)"
    return not_nginx(text)


def _not_nginx_message(path: Path, instead: str) -> str:
    hint = (
        " For ingress-nginx, give the controller's rendered conf"
        " (kubectl exec <controller pod> -- cat /etc/nginx/nginx.conf)."
        if "Kubernetes" in instead
        else ""
    )
    return f"{path} is {instead}, not an nginx conf: --nginx takes nginx's own configuration file.{hint}"
