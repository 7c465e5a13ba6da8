// The page: login, chat, orders, the status badge and the version banner.
import { WebSocketProvider } from "/static/websocket-provider.js";
import { ServiceWorkerManager } from "/static/sw-manager.js";

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

const state = {
  config: null,
  token: sessionStorage.getItem("token") || "",
  me: JSON.parse(sessionStorage.getItem("me") || "null"),
  users: [],
  peerId: null,
  messages: new Map(), // id -> message, plus duplicates when the duplicate-on-resync fault is on
  duplicates: [],
  lastMessageId: 0,
  orders: new Map(), // id -> order
  lastOrderVersion: 0,
};

let provider = null;

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (provider?.id) headers["X-Socket-Id"] = provider.id;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${method} ${path}: HTTP ${response.status}`);
  return data;
}

// Status badge -----------------------------------------------------------------------------------

function showStatus({ state: s, transport, detail }) {
  const badge = $("connection-status");
  badge.dataset.state = s;
  badge.dataset.transport = transport || "";
  badge.title = detail || "";
  badge.textContent = transport ? `${s} (${transport})` : detail ? `${s}: ${detail}` : s;
}

// Chat -------------------------------------------------------------------------------------------

function peerOf(message) {
  return message.sender_id === state.me.id ? message.recipient_id : message.sender_id;
}

function addMessage(message, { dedupe = true } = {}) {
  const duplicate = state.messages.has(message.id);
  if (duplicate && dedupe) return;
  if (duplicate) state.duplicates.push(message);
  else state.messages.set(message.id, message);
  const newest = message.id > state.lastMessageId;
  state.lastMessageId = Math.max(state.lastMessageId, message.id);
  if (peerOf(message) !== state.peerId) return;
  // The usual case, a new message at the end, appends one row; anything else re-renders the list.
  if (newest && !duplicate) appendRow($("chat-list"), message);
  else renderChat();
}

function messageRow(m) {
  const item = document.createElement("li");
  item.dataset.testid = "chat-message";
  item.dataset.messageId = String(m.id);
  item.dataset.senderId = String(m.sender_id);
  item.className = m.sender_id === state.me.id ? "mine" : "theirs";
  const who = document.createElement("b");
  who.textContent = `${m.sender_name}: `;
  item.append(who, document.createTextNode(m.text));
  return item;
}

function appendRow(list, message) {
  list.append(messageRow(message));
  list.scrollTop = list.scrollHeight;
}

function renderChat() {
  const list = $("chat-list");
  const shown = [...state.messages.values(), ...state.duplicates]
    .filter((m) => peerOf(m) === state.peerId)
    .sort((a, b) => a.id - b.id);
  list.replaceChildren(...shown.map(messageRow));
  list.scrollTop = list.scrollHeight;
}

function renderPeers() {
  const select = $("conversation-select");
  const peers = state.users.filter((u) => u.id !== state.me.id);
  select.replaceChildren(
    ...peers.map((u) => {
      const option = document.createElement("option");
      option.value = String(u.id);
      option.textContent = u.username;
      return option;
    }),
  );
  if (state.peerId === null && peers.length) state.peerId = peers[0].id;
  select.value = String(state.peerId);
}

async function sendChat(text) {
  const error = $("chat-error");
  error.hidden = true;
  const clientId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const ack = await provider.emit("chat:message", { to: state.peerId, text, client_id: clientId });
    if (!ack?.ok) throw new Error(ack?.error || "rejected");
    addMessage(ack.message);
  } catch (e) {
    error.textContent = `Not sent: ${e.message}`;
    error.hidden = false;
  }
}

// Orders -----------------------------------------------------------------------------------------

function applyOrder(order) {
  const known = state.orders.get(order.id);
  state.lastOrderVersion = Math.max(state.lastOrderVersion, order.version);
  if (known && known.version >= order.version) return;
  if (order.deleted) state.orders.delete(order.id);
  else state.orders.set(order.id, order);
  renderOrders();
}

function renderOrders() {
  const list = $("orders-list");
  const rows = [...state.orders.values()].sort((a, b) => a.id - b.id);
  list.replaceChildren(
    ...rows.map((o) => {
      const row = document.createElement("li");
      row.dataset.testid = "order-row";
      row.dataset.orderId = String(o.id);
      row.dataset.version = String(o.version);
      const title = document.createElement("span");
      title.dataset.testid = "order-title";
      title.textContent = o.title;
      const status = document.createElement("span");
      status.dataset.testid = "order-status";
      status.textContent = o.status;
      const advance = document.createElement("button");
      advance.dataset.testid = "order-advance";
      advance.textContent = "Advance";
      advance.disabled = o.status === "delivered";
      advance.addEventListener("click", () => api("POST", `/api/orders/${o.id}/advance`).then(applyOrder));
      row.append(title, status, advance);
      return row;
    }),
  );
}

// Resync: after every connect, fetch what this page has not seen -------------------------------

async function resync() {
  if (!state.config.resync) return;
  const dedupe = state.config.dedupeResync !== false;
  // The duplicate-on-resync fault re-reads everything and appends it, as a careless resync does.
  const since = dedupe ? state.lastMessageId : 0;
  const [messages, orders] = await Promise.all([
    api("GET", `/api/chat/messages?since_id=${since}`),
    api("GET", `/api/orders?since_version=${state.lastOrderVersion}`),
  ]);
  for (const m of messages) addMessage(m, { dedupe });
  for (const o of orders) applyOrder(o);
}

// Startup ----------------------------------------------------------------------------------------

async function startSession() {
  state.config = await configReady;
  $("login-form").hidden = true;
  document.getElementById("main").hidden = false;
  $("current-user").textContent = state.me.username;
  state.users = await api("GET", "/api/users");
  renderPeers();
  provider = new WebSocketProvider({
    config: state.config,
    getToken: () => state.token,
    onStatus: showStatus,
    onConnect: (socket, { reconnect }) => {
      resync().catch((e) => console.error("[realtime] resync failed:", e));
      if (reconnect) swManager.checkForUpdate();
    },
  });
  provider.on("chat:message", (m) => addMessage(m));
  provider.on("orders:update", applyOrder);
  provider.start();
  window.__app = { state, provider };
}

async function login(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = $("login-error");
  error.hidden = true;
  try {
    const result = await api("POST", "/api/login", { username: form.get("username"), password: form.get("password") });
    state.token = result.token;
    state.me = result.user;
    sessionStorage.setItem("token", state.token);
    sessionStorage.setItem("me", JSON.stringify(state.me));
    await startSession();
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
}

const swManager = new ServiceWorkerManager({
  onVersion: (version) => {
    const banner = $("version-banner");
    banner.textContent = `Updated to version ${version}`;
    banner.dataset.version = version;
    banner.hidden = false;
  },
});

// Handlers are attached at once (module scripts run before DOMContentLoaded), so a quick user, or
// a test, never submits the form before the page is ready; what needs the config awaits it.
const configReady = fetch("/api/config").then((response) => response.json());

function main() {
  $("login-form").addEventListener("submit", login);
  $("conversation-select").addEventListener("change", (e) => {
    state.peerId = Number(e.target.value);
    renderChat();
  });
  document.getElementById("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendChat(text);
  });
  document.getElementById("order-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("order-title-input");
    const title = input.value.trim();
    if (!title) return;
    input.value = "";
    api("POST", "/api/orders", { title }).then(applyOrder);
  });
  configReady.then((config) => {
    window.__swNoSkipWaiting = config.swSkipWaiting === false;
  });
  swManager.register().catch((e) => console.warn("[sw] not registered:", e.message));
  if (state.token && state.me) {
    startSession().catch(() => {
      sessionStorage.clear();
      location.reload();
    });
  } else {
    showStatus({ state: "idle", transport: "", detail: "log in to connect" });
  }
}

main();
