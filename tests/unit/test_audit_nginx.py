"""The NGX family on nginx configurations as servers have them: which server and location nginx uses,
includes as nginx resolves them, four outcomes, and the header semantics the corpus decided."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.audit.nginx import load, socket_read_timeout, socket_routes
from realtime_verify.audit.nginx_route import find_location
from realtime_verify.audit.nginx_syntax import find_nginx, neutralise
from realtime_verify.checks.nginx import SiteFacts, judge_nginx
from realtime_verify.errors import UsageError
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.stack.supervisor import reference_app_dir

NGINX = Path(__file__).resolve().parents[1] / "fixtures" / "nginx"
SOCKET = "/socket.io/"
GOOD_LOCATION = """
    location /socket.io/ {
        proxy_pass http://127.0.0.1:8000;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 120s;
    }
"""
needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


def audit(
    path: Path,
    site: str | None = None,
    ping: float = 45,
    nginx_root: Path | None = None,
    path_map: dict[str, Path] | None = None,
    refused: str | None = None,
) -> dict[str, CheckResult]:
    conf = load(path, nginx_root=nginx_root, path_map=path_map)
    results = judge_nginx(conf, str(path), SOCKET, ping, "test", SiteFacts.from_url(site, refused))
    return {r.check_id: r for r in results}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def statuses(results: dict[str, CheckResult]) -> dict[str, str]:
    return {check: r.status.value for check, r in results.items() if r.status is not Status.PASSED}


def review(result: CheckResult) -> bool:
    return result.status is Status.WARNING and any(f.severity == "review" for f in result.findings)


# The reference conf and the file:line of each mistake ----------------------------------------------


def test_the_reference_conf_passes_behind_the_edge() -> None:
    results = audit(reference_app_dir() / "deploy" / "nginx.prod.conf", site="https://app.example.com")
    assert statuses(results) == {}


@pytest.mark.parametrize(
    ("fixture", "site", "check", "line", "words"),
    [
        ("missing-upgrade.conf", None, c.NGX_003, 5, "does not forward Upgrade"),
        ("http-1.0.conf", None, c.NGX_002, 5, "HTTP/1.0"),
        ("inheritance-trap.conf", None, c.NGX_003, 6, "not inherited"),
        ("host-without-port.conf", "https://app.example.com:8443", c.NGX_005, 10, "Host is $host"),
        ("no-socket-proxy.conf", None, c.NGX_001, 5, "falls back to /index.html"),
        ("connection-cleared.conf", None, c.NGX_003, 9, 'Connection is "" (cleared'),
    ],
)
def test_each_mistake_fails_its_check_at_its_line(
    fixture: str, site: str | None, check: c.Check, line: int, words: str
) -> None:
    results = audit(NGINX / fixture, site=site)
    failed = {k for k, r in results.items() if r.status is Status.FAILED}
    assert failed == {check.id}, {k: r.message for k, r in results.items() if r.findings}
    finding = next(f for f in results[check.id].findings if words in f.found)
    assert finding.where == f"{NGINX / fixture}:{line}"
    assert finding.fix


def test_a_60_s_read_timeout_with_a_90_s_ping_fails() -> None:
    results = audit(NGINX / "short-read-timeout.conf", site="http://app.example.com", ping=90 + 20)
    assert statuses(results) == {c.NGX_004.id: "failed"}
    finding = results[c.NGX_004.id].findings[0]
    assert "proxy_read_timeout 60s is not above pingInterval + pingTimeout = 110 s" in finding.found
    assert finding.where.endswith("short-read-timeout.conf:12")
    assert statuses(audit(NGINX / "short-read-timeout.conf", site="http://app.example.com", ping=45)) == {}


# 1. Servers and locations as nginx picks them --------------------------------------------------------


def test_acme_and_redirect_servers_are_not_judged(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "site.conf",
        """
server { listen 80; server_name app.example.com;
    location /.well-known/acme-challenge/ { root /var/www/certbot; }
    location / { return 301 https://$host$request_uri; } }
server { listen 8080; server_name app.example.com;
    return 301 https://$host$request_uri;
    location /socket.io/ { proxy_pass http://127.0.0.1:8000; } }
server { listen 443 ssl; server_name app.example.com;"""
        + GOOD_LOCATION
        + "}\n",
    )
    results = audit(conf, site="https://app.example.com")
    assert statuses(results) == {}
    # Without the site URL every server is considered: the redirect-only ones are set aside, saying why.
    unknown = audit(conf)
    assert unknown[c.NGX_001.id].status is Status.PASSED
    assert any("redirects it" in line for line in unknown[c.NGX_001.id].checked)


def test_the_server_for_the_socket_host_is_judged_not_the_sites(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "sites.conf",
        "server { listen 443 ssl; server_name app.example.com; location / { proxy_pass http://127.0.0.1:3000;"
        " proxy_set_header Host $http_host; } }\n"
        "server { listen 443 ssl; server_name rt.example.com;" + GOOD_LOCATION + "}\n",
    )
    assert statuses(audit(conf, site="wss://rt.example.com")) == {}
    # The site's own server proxies /socket.io/ to Next.js, without the upgrade lines: judged, it fails.
    site = statuses(audit(conf, site="https://app.example.com"))
    assert site[c.NGX_003.id] == "failed"


def test_no_server_name_match_means_the_ports_default_server(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "default.conf",
        "server { listen 443 ssl; server_name other.example.com; location / { return 404; } }\n"
        "server { listen 443 ssl default_server; server_name ${PUBLIC_HOSTNAME};" + GOOD_LOCATION + "}\n",
    )
    results = audit(conf, site="https://app.example.com")
    assert statuses(results) == {}
    assert any("default server" in line for line in results[c.NGX_001.id].checked)


@pytest.mark.parametrize(
    ("locations", "chosen"),
    [
        ("location / {} location /socket.io/ {}", "/socket.io/"),
        ("location /socket.io/ {} location ~ ^/(api|socket\\.io)/ {}", "~ ^/(api|socket\\.io)/"),
        ("location ^~ /socket.io/ {} location ~ ^/(api|socket\\.io)/ {}", "^~ /socket.io/"),
        ("location = /socket.io/ {} location ~ ^/socket {}", "= /socket.io/"),
        ("location ~* \\.(js|css)$ {} location ~* ^/SOCKET\\.io/ {} location / {}", "~* ^/SOCKET\\.io/"),
        ("location / { location /socket.io/ {} } location /api/ {}", "/socket.io/"),
        ("location /socket {} location /socket.io {}", "/socket.io"),
        ("location @socket.io {} location / {}", "/"),
    ],
)
def test_the_location_nginx_picks(tmp_path: Path, locations: str, chosen: str) -> None:
    conf = load(write(tmp_path, "l.conf", f"server {{ listen 80; {locations} }}\n"))
    server = next(d for d in conf.tree if d["directive"] == "server")
    location, _ = find_location(server["block"], SOCKET)
    assert location is not None
    assert " ".join(location["args"]) == chosen


def test_try_files_hands_over_to_a_named_location_that_inherits_from_the_server(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "gunicorn.conf",
        """
map $http_upgrade $connection_upgrade { default upgrade; '' close; }
server { listen 443 ssl; server_name app.example.com; root /srv/app;
    proxy_http_version 1.1;
    location / { proxy_set_header Upgrade $http_upgrade; try_files $uri @app; }
    location @app {
        proxy_pass http://unix:/run/app.sock;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
""",
    )
    results = audit(conf, site="https://app.example.com")
    # HTTP/1.1 comes from the server level; location /'s Upgrade line does not reach @app.
    assert statuses(results) == {c.NGX_003.id: "failed"}
    assert "location @app, which answers the WebSocket upgrade, does not forward Upgrade" in (
        results[c.NGX_003.id].message
    )


def test_a_server_level_try_files_applies_when_no_location_matches(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "puma.conf",
        "server { listen 443 ssl; server_name app.example.com; try_files $uri/index.html $uri @app;"
        " location ~ ^/assets/ { expires max; }"
        + GOOD_LOCATION.replace("location /socket.io/", "location @app")
        + "}\n",
    )
    assert statuses(audit(conf, site="https://app.example.com")) == {}


def test_an_upgrade_sent_to_a_named_location_by_error_page_is_judged_there(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "split.conf",
        """
server { listen 443 ssl; server_name app.example.com;
    location /socket.io/ {
        error_page 418 = @upgrade;
        if ($http_upgrade = "websocket") { return 418; }
        proxy_pass http://pool; proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto $scheme;
    }
"""
        + GOOD_LOCATION.replace("location /socket.io/", "location @upgrade")
        + "}\n",
    )
    results = audit(conf, site="https://app.example.com")
    assert statuses(results) == {}
    routes = socket_routes(load(conf), SOCKET, "app.example.com", "https", None)
    [served] = routes.judged
    assert served.polling.block == "location /socket.io/"
    assert served.upgrade.block == "location @upgrade"


@pytest.mark.parametrize(
    ("location", "proxy_pass", "passes"),
    [
        ("/socket.io/", "http://backend/", False),
        ("/socket.io/", "http://backend", True),
        ("/socket.io/", "http://backend/socket.io/", True),
        ("/socket.io", "http://127.0.0.1:5000/socket.io", True),
        ("/", "http://backend/", True),
        ("/socket.io/", "$scheme://$host:$port$request_uri", True),
    ],
)
def test_a_proxy_pass_uri_replaces_the_matched_prefix(
    tmp_path: Path, location: str, proxy_pass: str, passes: bool
) -> None:
    body = GOOD_LOCATION.replace("location /socket.io/", f"location {location}").replace(
        "http://127.0.0.1:8000", proxy_pass
    )
    conf = write(tmp_path, "pp.conf", f"server {{ listen 443 ssl; server_name a.example.com; {body} }}\n")
    result = audit(conf, site="https://a.example.com")[c.NGX_001.id]
    assert (result.status is Status.PASSED) == passes, result.message
    if not passes:
        assert "the backend receives /?EIO=4" in result.message
        assert "`proxy_pass http://backend;`" in result.fix


# 2. Includes as nginx resolves them ------------------------------------------------------------------


def test_relative_includes_resolve_from_the_prefix_not_the_including_file(tmp_path: Path) -> None:
    main = write(tmp_path, "nginx/nginx.conf", "events {}\nhttp { include conf.d/*.conf; }\n")
    write(
        tmp_path,
        "nginx/conf.d/site.conf",
        "server { listen 80; location /socket.io/ {"
        " proxy_pass http://127.0.0.1:8000; include snippets/socket.conf; } }\n",
    )
    good = GOOD_LOCATION.split("{", 1)[1].rsplit("}", 1)[0].replace("proxy_pass http://127.0.0.1:8000;", "")
    write(tmp_path, "nginx/snippets/socket.conf", good.replace("proxy_http_version 1.1;", ""))
    write(tmp_path, "nginx/conf.d/snippets/socket.conf", good)  # the copy nginx never reads
    results = audit(main, site="http://app.example.com")
    assert statuses(results) == {c.NGX_002.id: "failed"}
    assert str(tmp_path / "nginx/conf.d/snippets/socket.conf") not in load(main).files


def test_absolute_includes_are_mapped_and_never_read_from_this_machine(tmp_path: Path) -> None:
    main = write(tmp_path, "etc-nginx/nginx.conf", "events {}\nhttp { include /etc/nginx/sites-enabled/*; }\n")
    write(
        tmp_path,
        "etc-nginx/sites-enabled/app",
        "server { listen 443 ssl; server_name app.example.com;" + GOOD_LOCATION + "}\n",
    )
    mapped = audit(main, site="https://app.example.com", nginx_root=tmp_path / "etc-nginx")
    assert statuses(mapped) == {}
    unmapped = audit(main, site="https://app.example.com")
    assert all(review(r) for r in unmapped.values()), statuses(unmapped)
    assert all(not f.startswith("/etc/") for f in load(main).files)
    finding = unmapped[c.NGX_001.id].findings[0]
    assert "`include /etc/nginx/sites-enabled/*`" in finding.found
    assert finding.where == f"{main}:2"
    assert "--nginx-root" in finding.fix


def test_other_absolute_folders_are_read_through_the_path_map(tmp_path: Path) -> None:
    main = write(tmp_path, "etc/nginx.conf", "events {}\nhttp { include /data/nginx/proxy_host/*.conf; }\n")
    write(
        tmp_path,
        "data/proxy_host/1.conf",
        "server { listen 443 ssl; server_name a.example.com;" + GOOD_LOCATION + "}\n",
    )
    results = audit(main, site="https://a.example.com", path_map={"/data/nginx": tmp_path / "data"})
    assert statuses(results) == {}


def test_an_include_cannot_lead_outside_the_given_folders(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/secret.conf", "server { listen 80; }\n")
    main = write(
        tmp_path, "conf/nginx.conf", "events {}\nhttp { include ../outside/secret.conf; include link.conf; }\n"
    )
    os.symlink(outside, tmp_path / "conf" / "link.conf")
    conf = load(main)
    assert conf.files == [str(main)]
    assert [u.include for u in conf.unreadable] == ["../outside/secret.conf", "link.conf"]


def test_a_missing_snippet_makes_what_it_could_set_review(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        "site.conf",
        "server { listen 443 ssl; server_name a.example.com;"
        " location /socket.io/ { proxy_pass http://127.0.0.1:8000; include /etc/nginx/snippets/ws.conf; } }\n",
    )
    results = audit(site, site="https://a.example.com")
    # The snippet could hold a `return`, the version, the headers, the timeout: every check says so.
    assert all(review(r) for r in results.values()), statuses(results)
    for check in (c.NGX_001, c.NGX_002, c.NGX_003, c.NGX_004, c.NGX_005):
        assert any(
            "/etc/nginx/snippets/ws.conf" in f.found and f.where == f"{site}:1" for f in results[check.id].findings
        )


def test_stock_files_change_nothing_and_proxy_params_is_read_as_debians(tmp_path: Path) -> None:
    body = (
        "location /socket.io/ { include proxy_params; proxy_pass http://127.0.0.1:5000; proxy_http_version 1.1;"
        ' proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; }'
    )
    main = write(
        tmp_path,
        "nginx.conf",
        "events {}\nhttp { include mime.types; include /etc/nginx/modules-enabled/*.conf;"
        f" server {{ listen 443 ssl; listen 8443 ssl; server_name a.example.com; {body} }} }}\n",
    )
    default_port = audit(main, site="https://a.example.com")
    assert statuses(default_port) == {}
    other_port = audit(main, site="https://a.example.com:8443")
    assert statuses(other_port) == {c.NGX_005.id: "warning"}
    assert review(other_port[c.NGX_005.id])
    assert "1.22.1-9+deb12u6" in other_port[c.NGX_005.id].message


def test_an_unreadable_include_does_not_stop_the_audit(tmp_path: Path) -> None:
    from realtime_verify.audit.run import AuditInputs, run_audit
    from realtime_verify.config import load_profile

    main = write(tmp_path, "nginx.conf", "events {}\nhttp { include sites-enabled/missing; }\n")
    env = write(tmp_path, ".env.production", "NEXT_PUBLIC_ENABLE_WEBSOCKETS=true\n")
    inputs = AuditInputs(env_files=[env], nginx=main, site_url="https://a.example.com")
    results = {r.check_id: r for r in run_audit(load_profile(None, env={}), inputs, process_env={})}
    assert results[c.ENV_001.id].status is Status.PASSED
    assert review(results[c.NGX_001.id])


def test_an_include_cycle_is_a_usage_error(tmp_path: Path) -> None:
    main = write(tmp_path, "nginx.conf", "events {}\nhttp { include a.conf; }\n")
    write(tmp_path, "a.conf", "include b.conf;\n")
    write(tmp_path, "b.conf", "include a.conf;\n")
    with pytest.raises(UsageError, match=r"include cycle at .*b\.conf:1: .*a\.conf -> .*b\.conf -> .*a\.conf"):
        load(main)


def test_syntax_errors_and_missing_files_are_usage_errors() -> None:
    words = 'unexpected end of file, expecting "}"'
    with pytest.raises(UsageError, match=rf"syntax-error\.conf:\d+: not valid nginx syntax.*: {words}") as raised:
        load(NGINX / "syntax-error.conf")
    if find_nginx() is not None:
        assert "(nginx -t)" in str(raised.value)
    with pytest.raises(UsageError, match="does not exist"):
        load(NGINX / "nope.conf")


@needs_nginx
def test_nginx_is_the_authority_on_what_crossplane_lets_through(tmp_path: Path) -> None:
    conf = write(tmp_path, "bad.conf", "server { listen 80; location /socket.io/ { proxy_pass; } }\n")
    with pytest.raises(UsageError, match=r"bad\.conf:1: not valid nginx syntax \(nginx -t\): invalid number of"):
        load(conf)
    # Version- or module-dependent complaints are not syntax errors: `http2 on` is unknown to nginx 1.22.
    modern = write(
        tmp_path, "modern.conf", "server { listen 443 ssl; http2 on; server_name a.example.com;" + GOOD_LOCATION + "}\n"
    )
    assert statuses(audit(modern, site="https://a.example.com")) == {}


def test_nginx_is_shown_a_copy_that_touches_nothing_of_this_machine() -> None:
    text = (
        "user www-data;\nload_module modules/x.so;\nhttp { include /etc/nginx/mime.types;\n"
        " upstream app { server api:8000; server unix:/run/app.sock; }\n"
        " server { ssl_certificate /etc/ssl/a.pem; ssl_certificate_key\n /etc/ssl/a.key;"
        " location / { proxy_pass http://web:3000/; } } }\n"
    )
    safe = neutralise(text)
    assert safe.count("\n") == text.count("\n")
    for gone in ("www-data", "modules/x.so", "/etc/", "api:", "web:"):
        assert gone not in safe
    assert "server 127.0.0.1:8000" in safe
    assert "proxy_pass http://127.0.0.1:3000/" in safe
    assert "unix:/run/app.sock" in safe


def test_a_kubernetes_manifest_is_not_an_nginx_conf(tmp_path: Path) -> None:
    ingress = write(
        tmp_path, "ingress.yaml", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n"
    )
    with pytest.raises(UsageError, match=r"is a Kubernetes manifest \(kind: Ingress\), not an nginx conf"):
        load(ingress)


# 3. Nothing to judge is never PASSED -----------------------------------------------------------------


def test_nothing_proxied_skips_the_rest_and_unread_servers_are_review(tmp_path: Path) -> None:
    results = audit(NGINX / "no-socket-proxy.conf")
    assert results[c.NGX_001.id].status is Status.FAILED
    assert {results[k.id].status for k in (c.NGX_002, c.NGX_003, c.NGX_004, c.NGX_005)} == {Status.SKIPPED}
    empty = write(tmp_path, "nginx.conf", "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n")
    assert all(review(r) for r in audit(empty).values())


# 4. Connection headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maps", "connection", "expected"),
    [
        ("", '"upgrade"', "passed"),
        ("", "Upgrade", "passed"),
        ("", "$http_connection", "passed"),
        ("map $http_upgrade $connection_upgrade { default upgrade; '' close; }", "$connection_upgrade", "passed"),
        (
            'map $http_connection $connection_upgrade { "~*Upgrade" $http_connection; default keep-alive; }',
            "$connection_upgrade",
            "passed",
        ),
        ("map $http_upgrade $connection_upgrade { default close; }", "$connection_upgrade", "failed"),
        ("", '""', "failed"),
        ("", "keep-alive", "failed"),
    ],
)
def test_connection_values(tmp_path: Path, maps: str, connection: str, expected: str) -> None:
    body = GOOD_LOCATION.replace('Connection "upgrade"', f"Connection {connection}")
    conf = write(tmp_path, "c.conf", f"{maps}\nserver {{ listen 443 ssl; server_name a.example.com; {body} }}\n")
    assert audit(conf, site="https://a.example.com")[c.NGX_003.id].status.value == expected


def test_a_map_in_a_file_not_given_is_review_and_missing_from_a_whole_conf_fails(tmp_path: Path) -> None:
    body = GOOD_LOCATION.replace('Connection "upgrade"', "Connection $connection_upgrade")
    site = write(tmp_path, "site.conf", f"server {{ listen 443 ssl; server_name a.example.com; {body} }}\n")
    assert review(audit(site, site="https://a.example.com")[c.NGX_003.id])
    whole = write(tmp_path, "nginx.conf", f"events {{}}\nhttp {{ server {{ listen 80; {body} }} }}\n")
    result = audit(whole, site="http://a.example.com")[c.NGX_003.id]
    assert result.status is Status.FAILED
    assert "nginx refuses to start" in result.message


# 7. Host and X-Forwarded-Proto ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "host", "proto", "site", "expected"),
    [
        ("443 ssl", "$host", "$scheme", "https://a.example.com", "passed"),
        ("8443 ssl", "$host", "$scheme", "https://a.example.com:8443", "failed"),
        ("8443 ssl", "$host:$server_port", "$scheme", "https://a.example.com:8443", "passed"),
        ("443 ssl", "$host:$server_port", "$scheme", "https://a.example.com", "failed"),
        ("443 ssl", "$http_host", "$scheme", "https://a.example.com:8443", "passed"),
        ("80", "$http_host", "$scheme", "https://a.example.com", "failed"),  # Cloudflare Flexible
        ("80", "$http_host", "$forwarded_proto", "https://a.example.com", "passed"),
        ("80", "$http_host", "$scheme", "http://a.example.com", "passed"),
        ("443 ssl", "$http_host", None, "https://a.example.com", "failed"),
        ("443 ssl", None, "$scheme", "https://a.example.com", "failed"),
        ("443 ssl", "$host", "$scheme", None, "passed"),
        ("8080", "$host", "$scheme", None, "warning"),  # direct on :8080, or behind an edge: cannot decide
        ("8080", "$http_host", "$forwarded_proto", None, "passed"),
    ],
)
def test_host_and_forwarded_proto(
    tmp_path: Path, listen: str, host: str | None, proto: str | None, site: str | None, expected: str
) -> None:
    lines = [
        f"proxy_set_header Host {host};" if host else "",
        f"proxy_set_header X-Forwarded-Proto {proto};" if proto else "",
    ]
    body = GOOD_LOCATION.replace("proxy_set_header Host $http_host;", lines[0]).replace(
        "proxy_set_header X-Forwarded-Proto $scheme;", lines[1]
    )
    keep_edge = "map $http_x_forwarded_proto $forwarded_proto { default $http_x_forwarded_proto; '' $scheme; }"
    conf = write(tmp_path, "o.conf", f"{keep_edge}\nserver {{ listen {listen}; server_name a.example.com; {body} }}\n")
    result = audit(conf, site=site)[c.NGX_005.id]
    assert result.status.value == expected, result.message
    if expected == "failed":
        assert result.fix


def test_a_live_refusal_makes_a_possible_origin_problem_certain(tmp_path: Path) -> None:
    body = GOOD_LOCATION.replace("Host $http_host", "Host $host")
    conf = write(tmp_path, "o.conf", f"server {{ listen 8080; {body} }}\n")
    assert audit(conf)[c.NGX_005.id].status is Status.WARNING
    refused = audit(conf, refused="HTTP 400 'Not an accepted origin.'")[c.NGX_005.id]
    assert refused.status is Status.FAILED
    assert "the live handshake confirms it" in refused.message


def test_socket_read_timeout_for_hs_002(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        "t.conf",
        "server { listen 80; proxy_read_timeout 30s;"
        " location /socket.io/ { proxy_pass http://app; } location /x/ { proxy_read_timeout 999s; } }\n",
    )
    assert socket_read_timeout(conf, SOCKET) == (30, f"{conf}:1")


def test_a_conf_of_400_servers_is_judged_for_the_site_s_server(tmp_path: Path) -> None:
    servers = "".join(
        f"server {{ listen 443 ssl; server_name s{i}.example.com; {GOOD_LOCATION} location / {{ return 404; }} }}\n"
        for i in range(400)
    )
    conf = write(tmp_path, "big.conf", servers)
    assert statuses(audit(conf, site="https://s399.example.com")) == {}  # its speed: bench/audit.py
