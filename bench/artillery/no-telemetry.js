// Preloaded with NODE_OPTIONS=--require: Artillery phones home at exit even with
// ARTILLERY_DISABLE_TELEMETRY=true (4 tries, ~12 s, then ENOTFOUND on this closed network).
// Hand it a PostHog client that does nothing, so no attempt is made and no delay added.
"use strict";
const Module = require("module");
const load = Module._load;
class SilentPostHog {
  capture() {}
  identify() {}
  on() {}
  flush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
  shutdownAsync() {
    return Promise.resolve();
  }
}
Module._load = function (request, parent, isMain) {
  if (request === "posthog-node") return { PostHog: SilentPostHog };
  return load.call(this, request, parent, isMain);
};
