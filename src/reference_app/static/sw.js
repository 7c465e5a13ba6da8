// The reference app's service worker. The server fills in the two constants below.
const VERSION = __APP_VERSION__;
const INTERCEPT_SOCKET = __INTERCEPT_SOCKET__; // true only with the sw-intercepts-socket fault
const SOCKET_PATH = __SOCKET_PATH__;
const CACHE = `app-shell-${VERSION}`;
const SHELL = ["/", "/static/app.js", "/static/websocket-provider.js", "/static/sw-manager.js", "/static/style.css"];

self.addEventListener("install", (event) => {
  // No skipWaiting() here: the page's ServiceWorkerManager decides when to activate.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data?.type === "GET_VERSION") event.ports[0]?.postMessage({ version: VERSION });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.pathname.startsWith(SOCKET_PATH)) {
    // Socket traffic is never ours to handle: returning without respondWith leaves it to the network.
    if (!INTERCEPT_SOCKET) return;
    event.respondWith(fetch(event.request));
    return;
  }
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  // App shell: network first, cache as the offline fallback.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || Response.error())),
  );
});
