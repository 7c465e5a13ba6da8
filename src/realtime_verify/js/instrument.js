// realtime-verify in-page instrumentation, injected before any script of the page runs.
// It records, with performance.timeOrigin + performance.now() (epoch milliseconds):
// - every WebSocket the page opens (URL, open, close, upgrade probe) and every frame sent and
//   received on it, decoded as Engine.IO / Socket.IO packets (event names, markers);
// - every long-polling request to the socket path (XHR), with the markers in its body;
// - the first time each marker appears in the DOM, and each new text a marked element shows.
// `window.__rvConfig` (set just before this script) gives the marker pattern and the socket path.
(() => {
  if (window.__rv) return;
  const config = window.__rvConfig || {};
  const markerPattern = new RegExp(config.markerPattern || "rv-[a-z0-9]+-[0-9]+", "g");
  const socketPath = config.socketPath || "/socket.io/";
  const MAX_FRAMES = 20000;
  const now = () => performance.timeOrigin + performance.now();

  const rv = {
    sockets: [], // {id, url, created, opened, closed, closeCode, error, probeOk, upgraded, openPacket, messages, ended}
    frames: [], // {socket, dir, t, eio, sio, event, markers}
    polls: [], // {t, method, url, status, done}
    markers: {}, // marker -> {sent, received} (first frame or poll that carried it, per direction)
    renders: {}, // marker -> first time it was in the DOM
    renderLog: [], // {marker, t, text}: every distinct text a marked element showed
    eventCounts: {}, // "in:chat:message" -> n
    clicks: [], // {t, text}: user actions, the start of a UI-initiated update
    // The Socket.IO connection as the page lives it, whatever its app code says: connected once the
    // server's CONNECT ("40") arrives, until a DISCONNECT, an Engine.IO close or the socket's close.
    sio: { connected: false, connects: 0, since: null, error: null },
    timeline: [], // {t, what, detail}: socket created/opened/closed, connect, connect error, upgrade...
  };
  Object.defineProperty(window, "__rv", { value: rv, enumerable: false });

  const markersIn = (text) => (typeof text === "string" ? text.match(markerPattern) || [] : []);

  function noteMarkers(text, direction, t) {
    const found = markersIn(text);
    for (const marker of found) {
      const slot = (rv.markers[marker] ||= {});
      const key = direction === "out" ? "sent" : "received";
      if (!(key in slot)) slot[key] = t;
    }
    return found;
  }

  // Engine.IO v4 text packet: a type digit, then for "4" (message) a Socket.IO packet:
  // type digit, optional "/namespace,", optional ack id, then JSON ["event", ...args].
  function decode(data) {
    if (typeof data !== "string") return { eio: "binary" };
    const packet = { eio: data[0] };
    if (packet.eio === "4") {
      packet.sio = data[1];
      if (packet.sio === "2") {
        let rest = data.slice(2);
        if (rest.startsWith("/")) rest = rest.slice(rest.indexOf(",") + 1);
        rest = rest.replace(/^\d+/, "");
        try {
          const args = JSON.parse(rest);
          if (Array.isArray(args) && typeof args[0] === "string") packet.event = args[0];
        } catch {
          packet.event = null;
        }
      }
    } else if ((packet.eio === "2" || packet.eio === "3") && data.slice(1) === "probe") {
      packet.probe = true;
    }
    return packet;
  }

  function note(what, detail) {
    rv.timeline.push({ t: now(), what, detail: detail ?? null });
    if (rv.timeline.length > 5000) rv.timeline.splice(0, 500);
  }

  function sioState(sock, direction, packet, data) {
    if (direction !== "in") return;
    if (packet.eio === "4" && packet.sio === "0") {
      rv.sio.connected = true;
      rv.sio.connects += 1;
      rv.sio.since = now();
      rv.sio.error = null;
      note("connect", sock.id);
    } else if (packet.eio === "4" && packet.sio === "4") {
      rv.sio.connected = false;
      rv.sio.error = data.slice(2, 300);
      note("connect-error", rv.sio.error);
    } else if ((packet.eio === "4" && packet.sio === "1") || packet.eio === "1") {
      if (rv.sio.connected) note("disconnect", packet.eio === "1" ? "engine close" : "server disconnect");
      rv.sio.connected = false;
    }
  }

  function record(sock, direction, data) {
    const t = now();
    const packet = decode(data);
    const frame = { socket: sock.id, dir: direction, t, ...packet };
    const found = noteMarkers(data, direction, t);
    if (found.length) frame.markers = found;
    if (rv.frames.length >= MAX_FRAMES) rv.frames.splice(0, MAX_FRAMES / 10);
    rv.frames.push(frame);
    if (packet.event) {
      const key = `${direction}:${packet.event}`;
      rv.eventCounts[key] = (rv.eventCounts[key] || 0) + 1;
    }
    if (direction === "in" && packet.eio === "3" && packet.probe) sock.probeOk = t;
    if (direction === "out" && data === "5") {
      sock.upgraded = t;
      note("upgrade", sock.id);
    }
    sioState(sock, direction, packet, data);
    if (direction === "in" && packet.eio === "0") sock.openPacket = t;
    if (packet.eio === "4") sock.messages += 1;
  }

  const NativeWebSocket = window.WebSocket;
  function InstrumentedWebSocket(url, protocols) {
    const sock = {
      id: rv.sockets.length,
      url: String(url),
      created: now(),
      opened: null,
      closed: null,
      closeCode: null,
      error: null,
      probeOk: null,
      upgraded: null,
      openPacket: null,
      messages: 0,
    };
    rv.sockets.push(sock);
    note("ws-created", sock.url);
    let ws;
    try {
      ws = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    } catch (error) {
      // A blocked URL (mixed content, bad scheme) throws here, before any network traffic.
      sock.error = `${error && error.name}: ${error && error.message}`;
      sock.closed = now();
      throw error;
    }
    sock.url = ws.url;
    ws.addEventListener("open", () => {
      sock.opened = now();
      note("ws-open", sock.id);
    });
    // The socket that carried the session is gone: the page is disconnected until a new CONNECT.
    const sessionEnded = (why) => {
      if (rv.sio.connected && (sock.upgraded || sock.openPacket) && !sock.ended) {
        sock.ended = now();
        rv.sio.connected = false;
        note("disconnect", why);
      }
    };
    ws.addEventListener("close", (event) => {
      sock.closed = now();
      sock.closeCode = event.code;
      note("ws-close", `${sock.id} code ${event.code}`);
      sessionEnded("transport close");
    });
    // The page closing its socket is when it noticed the link was gone (the offline event, a missed
    // ping): on a dead or offline link the close event waits for a closing handshake that never comes.
    const nativeClose = ws.close;
    ws.close = function close(...args) {
      note("ws-closing", sock.id);
      sessionEnded("the page closed its socket");
      return nativeClose.apply(this, args);
    };
    ws.addEventListener("error", () => (sock.error ||= "error event"));
    // Registered before the page's own handlers, so the timestamp precedes its processing.
    ws.addEventListener("message", (event) => record(sock, "in", event.data));
    const nativeSend = ws.send;
    ws.send = function send(data) {
      record(sock, "out", data);
      return nativeSend.call(this, data);
    };
    return ws;
  }
  InstrumentedWebSocket.prototype = NativeWebSocket.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) {
    Object.defineProperty(InstrumentedWebSocket, name, { value: NativeWebSocket[name] });
  }
  window.WebSocket = InstrumentedWebSocket;

  // Long-polling goes through XHR in socket.io-client. Its payloads are Engine.IO packets joined by
  // the record separator (\x1e): record them as frames of a pseudo-socket "poll", so that event
  // counts, markers and latency work whatever the transport.
  const pollSocket = { id: "poll", messages: 0 };
  const recordPayload = (direction, payload) => {
    if (typeof payload !== "string" || !payload) return;
    for (const packet of payload.split("\x1e")) record(pollSocket, direction, packet);
  };
  const nativeOpen = XMLHttpRequest.prototype.open;
  const nativeSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function open(method, url, ...rest) {
    try {
      const parsed = new URL(String(url), location.href);
      // The socket path, or any Engine.IO request (a page misconfigured to another path too).
      if (parsed.pathname.startsWith(socketPath) || parsed.searchParams.has("EIO")) {
        const poll = { t: now(), method, url: parsed.href, status: null, done: null };
        this.__rvPoll = poll;
        // Registered here, before the client sets its onreadystatechange handler, so the payload is
        // timestamped before the client reacts to it (a pong must not seem to precede its ping).
        this.addEventListener("readystatechange", () => {
          if (this.readyState !== 4) return;
          poll.done = now();
          poll.status = this.status;
          if (poll.method.toUpperCase() === "GET" && this.status === 200) recordPayload("in", this.responseText);
          // The server's own words when it refuses (an Origin, a session): kept for the diagnosis.
          if (this.status !== 200) poll.body = String(this.responseText || "").slice(0, 200);
        });
      }
    } catch {
      // not a URL we track
    }
    return nativeOpen.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function send(body) {
    const poll = this.__rvPoll;
    if (poll) {
      rv.polls.push(poll);
      if (rv.polls.length > MAX_FRAMES) rv.polls.splice(0, MAX_FRAMES / 10);
      if (poll.method.toUpperCase() === "POST") recordPayload("out", body);
    }
    return nativeSend.call(this, body);
  };

  // Service worker takeovers: a new worker controlling the page (after SKIP_WAITING and claim()).
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      note("sw-controllerchange", navigator.serviceWorker.controller?.scriptURL ?? null);
    });
  }

  // Clicks, captured before the page's own handlers see them.
  document.addEventListener(
    "click",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      rv.clicks.push({ t: now(), text: (target?.textContent || "").trim().slice(0, 80) });
      if (rv.clicks.length > 1000) rv.clicks.splice(0, 100);
    },
    true,
  );

  // Rendering: the first time each marker is in the DOM, and every new text of a marked node.
  const logged = new Set();
  function scan(node, t) {
    const text = node.nodeType === Node.TEXT_NODE ? node.data : node.textContent;
    const found = markersIn(text);
    if (!found.length) return;
    const shown = text.trim().replace(/\s+/g, " ").slice(0, 300);
    for (const marker of found) {
      if (!(marker in rv.renders)) rv.renders[marker] = t;
      const key = `${marker}|${shown}`;
      if (!logged.has(key)) {
        logged.add(key);
        rv.renderLog.push({ marker, t, text: shown });
      }
    }
  }
  new MutationObserver((records) => {
    // One timestamp for the batch, taken first: the DOM changed before this callback ran, and
    // scanning a long list must not count as the page's rendering time.
    const t = now();
    for (const record of records) {
      if (record.type === "characterData") scan(record.target.parentNode || record.target, t);
      for (const node of record.addedNodes) scan(node, t);
      // A text change inside a marked element (a status cell) shows up as a child-list change of
      // the cell; rescan the nearest element that carries the marker.
      if (record.type === "childList" && record.target.nodeType === Node.ELEMENT_NODE) {
        let element = record.target;
        for (let depth = 0; element && depth < 4; depth += 1, element = element.parentElement) {
          const count = new Set(markersIn(element.textContent)).size;
          if (count === 1) scan(element, t);
          if (count >= 1) break; // a list of many marked items is not one item's text
        }
      }
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
})();
