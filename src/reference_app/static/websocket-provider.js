// WebSocketProvider: the page's single Socket.IO connection, as the checklist describes it.
// - skips the socket when disabled or misconfigured, and says why (status badge and console);
// - reconnects with 1-5 s delays; resyncs after every connect (the app's `onConnect` callback);
// - sends health:ping on a timer and, after more than `missedPongLimit` missed pongs, drops the
//   transport so that the client reconnects (a half-open link never closes by itself).
import { io } from "/vendor/socket.io.esm.min.js";

const LOG = "[realtime]";

/** Where to connect, or why not: {ok, url, path} or {ok: false, state, reason}. */
export function resolveSocketTarget(config, location) {
  const enabled = String(config.NEXT_PUBLIC_ENABLE_WEBSOCKETS ?? "").trim().toLowerCase();
  if (enabled !== "true") {
    return {
      ok: false,
      state: "disabled",
      reason: `WebSockets are disabled: NEXT_PUBLIC_ENABLE_WEBSOCKETS is ${JSON.stringify(config.NEXT_PUBLIC_ENABLE_WEBSOCKETS ?? "")}, not "true"`,
    };
  }
  const raw = (config.NEXT_PUBLIC_WEBSOCKET_URL || "").trim() || location.origin;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, state: "error", reason: `NEXT_PUBLIC_WEBSOCKET_URL ${JSON.stringify(raw)} is not a valid URL` };
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    return { ok: false, state: "error", reason: `NEXT_PUBLIC_WEBSOCKET_URL ${JSON.stringify(raw)} must start with wss:// or https://` };
  }
  if (location.protocol === "https:" && (url.protocol === "ws:" || url.protocol === "http:")) {
    return {
      ok: false,
      state: "error",
      reason: `NEXT_PUBLIC_WEBSOCKET_URL ${JSON.stringify(raw)} is insecure on an https page (browsers block it as mixed content): use wss://`,
    };
  }
  const path = (config.NEXT_PUBLIC_WEBSOCKET_PATH || "/socket.io").trim();
  if (!path.startsWith("/")) {
    return { ok: false, state: "error", reason: `NEXT_PUBLIC_WEBSOCKET_PATH ${JSON.stringify(path)} must start with /` };
  }
  // socket.io-client takes an http(s) origin and picks ws(s) itself for the upgrade.
  const origin = `${url.protocol === "ws:" ? "http:" : url.protocol === "wss:" ? "https:" : url.protocol}//${url.host}`;
  return { ok: true, url: origin, path };
}

export class WebSocketProvider {
  /**
   * @param {object} options
   * @param {object} options.config      the runtime config from /api/config
   * @param {() => string} options.getToken
   * @param {(status: {state: string, transport: string, detail: string}) => void} options.onStatus
   * @param {(socket: object, info: {reconnect: boolean}) => void} options.onConnect
   */
  constructor({ config, getToken, onStatus, onConnect }) {
    this.config = config;
    this.getToken = getToken;
    this.onStatus = onStatus;
    this.onConnect = onConnect;
    this.socket = null;
    this.handlers = new Map();
    this.missedPongs = 0;
    this.pingSeq = 0;
    this.connectedOnce = false;
    this.heartbeat = null;
  }

  /** Register an event handler; it survives reconnects. */
  on(event, handler) {
    this.handlers.set(event, handler);
    this.socket?.on(event, handler);
  }

  get id() {
    return this.socket?.connected ? this.socket.id : "";
  }

  start() {
    const target = resolveSocketTarget(this.config, window.location);
    if (!target.ok) {
      console.error(`${LOG} not connecting: ${target.reason}`);
      this.setStatus(target.state, "", target.reason);
      return;
    }
    const c = this.config;
    const socket = io(target.url, {
      path: target.path,
      auth: (cb) => cb({ token: this.getToken() }),
      reconnection: c.reconnection !== false,
      reconnectionDelay: c.reconnectionDelayMs ?? 1000,
      reconnectionDelayMax: c.reconnectionDelayMaxMs ?? 5000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    for (const [event, handler] of this.handlers) socket.on(event, handler);

    socket.on("connect", () => {
      const transport = socket.io.engine.transport.name;
      this.missedPongs = 0;
      this.setStatus("connected", transport, "");
      const reconnect = this.connectedOnce;
      this.connectedOnce = true;
      this.onConnect?.(socket, { reconnect });
    });
    socket.io.on("open", () => {
      socket.io.engine.on("upgrade", (transport) => {
        if (socket.connected) this.setStatus("connected", transport.name, "");
      });
    });
    socket.on("disconnect", (reason) => {
      const willReconnect = socket.active;
      console.warn(`${LOG} disconnected: ${reason}${willReconnect ? ", reconnecting" : ""}`);
      this.setStatus(willReconnect ? "reconnecting" : "disconnected", "", reason);
    });
    socket.on("connect_error", (error) => {
      const message = error?.message || String(error);
      console.error(`${LOG} connect_error: ${message}`);
      this.setStatus(socket.active ? "reconnecting" : "error", "", message);
    });
    socket.on("health:pong", () => {
      this.missedPongs = 0;
    });
    this.heartbeat = setInterval(() => this.beat(), c.heartbeatIntervalMs ?? 30000);
  }

  /** One heartbeat tick: count the previous ping as missed until its pong arrives. */
  beat() {
    const socket = this.socket;
    if (!socket?.connected) return;
    const limit = this.config.missedPongLimit ?? 3;
    if (limit > 0 && this.missedPongs > limit) {
      console.warn(`${LOG} ${this.missedPongs} pongs missed: dropping the connection to reconnect`);
      this.missedPongs = 0;
      // Closing the engine (not socket.disconnect()) keeps auto-reconnect on.
      socket.io.engine.close();
      return;
    }
    this.pingSeq += 1;
    this.missedPongs += 1;
    socket.emit("health:ping", { id: this.pingSeq, ts: performance.timeOrigin + performance.now() });
  }

  emit(event, payload) {
    return new Promise((resolve, reject) => {
      if (!this.socket?.connected) {
        reject(new Error("not connected"));
        return;
      }
      this.socket.timeout(10000).emit(event, payload, (error, ack) => (error ? reject(error) : resolve(ack)));
    });
  }

  setStatus(state, transport, detail) {
    this.onStatus?.({ state, transport, detail });
  }
}
