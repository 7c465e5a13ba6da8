"""The target profile's schema: every section and key, its type, default and meaning.

Every setting resolves, in this order: the command line (`--set section.key=value`), the environment
(`RV_SECTION_KEY`), the profile file (TOML), the default. The defaults are the reference app's
contract, so an app that follows it needs a profile of a few lines; an app shaped differently says
so in `[app]`, `[auth]`, `[ui]`, `[events]` and `[items]`, or names its own adapter class. Secrets are
never in the file: it names the environment variables that hold them.

The sections are pydantic models: their fields are the schema, so validation, `RV_*` names and
`describe()` cannot drift apart. Errors name the key, where its value came from, and the closest
valid key or value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from realtime_verify.errors import ConfigError
from realtime_verify.net import normalize_socket_path

Seconds = Annotated[float, Field(gt=0, le=3600)]
Milliseconds = Annotated[float, Field(gt=0, le=600_000)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSection(Section):
    """Where the app is. No base_url: the embedded reference stack."""

    base_url: str | None = None
    socket_url: str | None = None  # default: base_url
    socket_path: str = "/socket.io/"
    behind_cloudflare: bool = False
    expected_ws_url: str | None = None  # default: wss://<socket host><socket_path>
    resolve: dict[str, str] = {}  # like curl --resolve: name -> address
    ca_file: str | None = None  # a private CA to trust (staging)
    connect_timeout_s: Annotated[float, Field(ge=1, le=300)] = 8.0
    # Which build is being verified, for the report: GET version_path, read version_field of its JSON
    # (or its text). --label overrides it.
    version_path: str = ""
    version_field: str = "version"

    @field_validator("base_url", "socket_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _url(value, ("http", "https"))

    @field_validator("expected_ws_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        return _url(value, ("ws", "wss", "http", "https"))

    @field_validator("socket_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with /, got {value!r}")
        return normalize_socket_path(value)


ChatModel = Literal["direct", "room", "broadcast", "none"]
ItemsKind = Literal["orders", "tasks", "none"]


class AppSection(Section):
    """What the app has: the suite skips (with the reason) every check whose need is missing."""

    adapter: str = ""  # "package.module:Class": an adapter of your own, when the profile cannot say it
    chat: ChatModel = "direct"
    room: str = ""  # the room both pages and the watcher join (chat = room)
    items: ItemsKind = "orders"  # shared items that change (orders, tasks), or none
    heartbeat: bool = True  # an app-level ping/pong ([events] health_ping/pong); else Engine.IO's is judged
    socket_auth: bool = True  # the server authenticates sockets
    resync: bool = True  # the page fetches what it missed after a reconnect
    service_worker: bool = True


AuthMode = Literal["api", "form", "storage_state", "nickname", "none"]


class AuthSection(Section):
    """How the suite logs in. `users` maps a role (a, b, c) to an env var prefix.

    api: the page logs in through its form, the watcher and the API client with a token from
    POST login_path (JSON). form: the same page login; the watcher gets a session cookie from POST
    login_path (form-encoded). storage_state: `<prefix>_STORAGE_STATE` names a Playwright storage
    state file per user. nickname: the page types a nickname, no password. none: no login at all.
    """

    mode: AuthMode = "api"
    login_path: str = "/api/login"
    username_field: str = "username"  # the login request's field names (api: JSON, form: form-encoded)
    password_field: str = "password"
    token_field: str = "token"
    user_id_field: str = "user.id"  # where the login answer says the user's id (a dotted path; "" if not)
    me_path: str = ""  # GET it (as the user) for the id when the login answer does not say it
    socket_auth_key: str = "token"  # the socket.io `auth` payload is {socket_auth_key: token}
    # RV_USER_A holds the username of user A, RV_USER_A_PASSWORD its password.
    users: dict[str, str] = {"a": "RV_USER_A", "b": "RV_USER_B", "c": "RV_USER_C"}


class UiSection(Section):
    """Selectors of the page, in Playwright's selector syntax (CSS by default, `text=`, `role=`...).

    The defaults are the reference app's `data-testid` contract. An empty selector means the page
    has no such element: `connected = ""` judges the connection from the page's own socket.
    """

    login_username: str = '[data-testid="login-username"]'
    login_password: str = '[data-testid="login-password"]'
    login_submit: str = '[data-testid="login-submit"]'  # "" : press Enter in the last login field
    connected: str = '[data-testid="connection-status"][data-state="connected"]'
    connection_status: str = '[data-testid="connection-status"]'
    conversation_select: str = '[data-testid="conversation-select"]'  # direct: pick the peer; room: the room
    chat_input: str = '[data-testid="chat-input"]'
    chat_send: str = '[data-testid="chat-send"]'  # "" : send with ui.send_key
    send_key: str = "Enter"
    chat_message: str = '[data-testid="chat-message"]'
    version_banner: str = '[data-testid="version-banner"]'


class EventsSection(Section):
    """Socket.IO event names, and where the text and the sender are in their payloads.

    `chat_payload` is the JSON a watcher emits to chat, with placeholders `{text}`, `{peer_id}`,
    `{room}`, `{nickname}` (a placeholder alone keeps its value's type: `{peer_id}` stays a number).
    Paths are dotted (`author.id`); "" means the payload is the value itself.
    """

    chat_send: str = "chat:message"
    chat_receive: str = ""  # default: the same as chat_send
    chat_payload: str = '{"to": "{peer_id}", "text": "{text}"}'
    chat_text_path: str = "text"
    chat_sender_path: str = "sender_id"  # "" : messages do not carry their sender (attribution is skipped)
    join: str = ""  # emitted by a watcher after connecting: joining a room, announcing a nickname
    join_payload: str = ""
    join_ack: bool = False  # the server acknowledges the join: wait for it before chatting
    health_ping: str = "health:ping"
    health_pong: str = "health:pong"

    @property
    def chat_received(self) -> str:
        return self.chat_receive or self.chat_send


class ItemsSection(Section):
    """Shared items that change (orders, tasks): how to create, update and delete one, and see it."""

    create: str = "/api/orders"  # POST create_payload
    update: str = "/api/orders/{id}"  # PATCH update_payload
    delete: str = "/api/orders/{id}"  # DELETE, at the end (synthetic data is removed)
    create_payload: str = '{"title": "{title}"}'
    update_payload: str = '{"status": "{status}"}'
    statuses: list[str] = ["new", "accepted", "preparing", "ready", "delivered"]
    event: str = "orders:update"
    created_id_path: str = "id"  # in the answer to the create request
    id_path: str = "id"  # in the event
    status_path: str = "status"
    row: str = '[data-testid="order-row"]'  # contains the item's title
    advance: str = '[data-testid="order-advance"]'  # inside the row; "" : updates from the API only


class CleanupSection(Section):
    """Removing the run's synthetic data at the end ("" when the app has no such endpoint)."""

    chat: str = "/api/chat/messages?contains={marker}"  # DELETE, each user its own messages


class BudgetsSection(Section):
    """What "instantly" means for this app, and the timers the checks compare against."""

    chat_p95_ms: Milliseconds = 250.0
    item_p95_ms: Milliseconds = 500.0
    chat_samples: Annotated[int, Field(ge=5, le=1000)] = 30  # per direction
    reconnect_s: Seconds = 10.0
    heartbeat_interval_s: Seconds = 30.0
    # The page drops its link after more than this many missed pongs; 0: it has no such rule and
    # relies on Engine.IO's ping timeout (the half-open check then cuts the link both ways).
    missed_pongs: Annotated[int, Field(ge=0, le=100)] = 3
    # The server's ping timers, for the nginx audit when no live handshake says them.
    ping_interval_s: Seconds = 25.0
    ping_timeout_s: Seconds = 20.0
    edge_idle_timeout_s: Seconds = 100.0  # Cloudflare's WebSocket idle cut, about 100 s
    nginx_read_timeout_s: Seconds | None = None  # known from [config_files] nginx when given


FaultMethod = Literal["client", "edge", "backend"]


class FaultsSection(Section):
    """Which fault methods may run: client (the suite's own connections only), edge, backend."""

    allowed: list[FaultMethod] = ["client"]
    storm_clients: Annotated[int, Field(ge=2, le=20_000)] = 200
    # The reconnect storm past one machine: "locust" runs it through a Locust master here and workers here
    # or on other machines (realtime_verify.faults.locust), judged the same way.
    storm_runner: Literal["watchers", "locust"] = "watchers"
    storm_workers: Annotated[int, Field(ge=0, le=64)] = 2  # Locust worker processes on this machine
    storm_expect_workers: Annotated[int, Field(ge=1, le=1000)] | None = None  # in all (default: storm_workers)
    storm_master_bind: str = "127.0.0.1"  # where remote workers reach the master
    storm_master_port: Annotated[int, Field(ge=1, le=65535)] | None = None  # default: a free port
    # A fault check that would take longer with the target's real timers is skipped, saying so.
    # Default: 60 s in signoff, 900 s in nightly.
    max_check_s: Seconds | None = None


class CloudflareSection(Section):
    """The zone to audit, read-only; the token comes from the env var named here."""

    zone_id: str | None = None
    zone_name: str | None = None
    token_env: str = "CLOUDFLARE_API_TOKEN"
    api_base_url: str | None = None  # only for tests against a local server


class ConfigFilesSection(Section):
    """Deployment files for the static audit (relative paths: from the profile's folder)."""

    env: list[str] = []
    k8s: list[str] = []
    nginx: str | None = None
    # The folder that stands for /etc/nginx, so absolute includes are read from the repository,
    # never from the machine that runs the audit.
    nginx_root: str | None = None
    # Other absolute folders the confs include, and the repository folder that holds each
    # (Nginx Proxy Manager's /data/nginx, for example): {"/data/nginx" = "deploy/npm"}.
    nginx_path_map: dict[str, str] = {}
    site_url: str | None = None  # the public site the env vars serve (default: base_url)
    allowed_hosts: list[str] = []  # other hosts the socket URL may use


class Profile(Section):
    """A validated target profile."""

    target: TargetSection = TargetSection()
    app: AppSection = AppSection()
    auth: AuthSection = AuthSection()
    ui: UiSection = UiSection()
    events: EventsSection = EventsSection()
    items: ItemsSection = ItemsSection()
    cleanup: CleanupSection = CleanupSection()
    budgets: BudgetsSection = BudgetsSection()
    faults: FaultsSection = FaultsSection()
    cloudflare: CloudflareSection = CloudflareSection()
    config_files: ConfigFilesSection = ConfigFilesSection()
    # Not settings: where the profile came from, and where each non-default value did.
    source: str = "defaults"
    origins: dict[str, str] = {}

    @property
    def embedded(self) -> bool:
        return self.target.base_url is None

    @property
    def socket_base(self) -> str:
        base = self.target.socket_url or self.target.base_url
        if base is None:
            raise ConfigError("no target: set target.base_url")
        return base.rstrip("/")

    @property
    def socket_path(self) -> str:
        return self.target.socket_path

    @property
    def expected_ws_url(self) -> str:
        if self.target.expected_ws_url:
            return self.target.expected_ws_url
        parts = urlsplit(self.socket_base)
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        return f"{scheme}://{parts.netloc}{self.socket_path}"

    def replace(self, **sections: Any) -> Profile:
        """A copy with some sections' keys changed: `replace(target={"base_url": ...})`."""
        changes = {name: getattr(self, name).model_copy(update=values) for name, values in sections.items()}
        return self.model_copy(update=changes)

    def secret_values(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Every secret this profile can reach (passwords, API token): for redaction."""
        env = os.environ if env is None else env
        names = [f"{prefix}_PASSWORD" for prefix in self.auth.users.values()]
        names.append(self.cloudflare.token_env)
        return [env[name] for name in names if env.get(name)]


SECTIONS: dict[str, type[Section]] = {
    name: info.annotation
    for name, info in Profile.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Section)
}


def _url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be an absolute {' or '.join(s + '://' for s in schemes)} URL")
    return value
