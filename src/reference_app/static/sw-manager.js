// ServiceWorkerManager: activates an updated worker at once (SKIP_WAITING, no "new version" prompt)
// and tells every open page which version now runs (controllerchange + a BroadcastChannel).
const CHANNEL = "app-updates";

export class ServiceWorkerManager {
  /** @param {{onVersion: (version: string) => void}} options */
  constructor({ onVersion }) {
    this.onVersion = onVersion;
    this.registration = null;
    this.channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;
  }

  async register() {
    if (!("serviceWorker" in navigator)) return null;
    this.channel?.addEventListener("message", (event) => {
      if (event.data?.type === "NEW_VERSION") this.onVersion(event.data.version);
    });
    const hadController = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.addEventListener("controllerchange", async () => {
      // The first install also fires controllerchange (clients.claim()); that is no update.
      if (!hadController && !this.updating) return;
      const version = await this.askVersion();
      this.onVersion(version);
      this.channel?.postMessage({ type: "NEW_VERSION", version });
    });
    this.registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    this.watch(this.registration);
    return this.registration;
  }

  watch(registration) {
    if (registration.waiting && navigator.serviceWorker.controller) this.activate(registration.waiting);
    registration.addEventListener("updatefound", () => {
      // On a busy page this task can run after the worker finished installing: it is then already
      // waiting, and no statechange to "installed" will follow. Settle on what it is now, too.
      this.settle(registration.installing ?? registration.waiting);
    });
  }

  /** Activate `worker` once it has installed (at once if it already has). */
  settle(worker) {
    if (!worker) return;
    const settle = () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) this.activate(worker);
    };
    worker.addEventListener("statechange", settle);
    settle();
  }

  activate(worker) {
    this.updating = true;
    // The sw-no-skip-waiting fault: the new worker waits until every tab is closed (the browser's
    // default), so open pages keep the old code and never hear of the new version.
    if (window.__swNoSkipWaiting) return;
    worker.postMessage({ type: "SKIP_WAITING" });
  }

  /** Ask the browser to look for a new sw.js (after a reconnect, a deploy is likely). */
  checkForUpdate() {
    const registration = this.registration;
    registration
      ?.update()
      .then(() => {
        // A worker that installed while no tab was listening waits for ever: activate it, now or
        // when the one this check found has installed (update() resolves when installing starts).
        this.settle(registration.installing ?? registration.waiting);
      })
      .catch((e) => console.warn("[sw] update check failed:", e.message));
  }

  askVersion() {
    const controller = navigator.serviceWorker.controller;
    if (!controller) return Promise.resolve("unknown");
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event) => resolve(event.data?.version ?? "unknown");
      controller.postMessage({ type: "GET_VERSION" }, [channel.port2]);
    });
  }
}
