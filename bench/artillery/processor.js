// Artillery processor for bench/peer.py: timestamps what the benchmark compares, one line per event,
// appended to $RV_BENCH_EVENTS (epoch ms, the same clock as the Python side):
//   p <t>                     the processor loaded (Artillery is up, in its pause phase)
//   c <start> <connected>     a virtual user's socket: Manager.open() → first connect
//   r <t>                     a later connect (after the edge dropped everything)
//   f <sent> <received>       an orders:update whose title carries the time its request was sent
"use strict";
const fs = require("fs");
const path = require("path");

const OUT = process.env.RV_BENCH_EVENTS;
const HOME = process.env.RV_ARTILLERY_HOME;
const write = (line) => fs.appendFileSync(OUT, line + "\n");

// The socket.io-client instance Artillery's socketio engine uses: stamp each Manager when it opens.
const engine = require.resolve("@artilleryio/int-core/lib/engine_socketio.js", { paths: [HOME] });
const client = require(require.resolve("socket.io-client", { paths: [path.dirname(engine)] }));
const open = client.Manager.prototype.open;
client.Manager.prototype.open = function (...args) {
  if (this.__rvStart === undefined) this.__rvStart = Date.now();
  return open.apply(this, args);
};

write(`p ${Date.now()}`);

function arm(context, events, done) {
  const socket = context.sockets[""];
  write(`c ${socket.io.__rvStart} ${Date.now()}`);
  // Registered after the first connect: it fires for reconnections only.
  socket.on("connect", () => write(`r ${Date.now()}`));
  socket.on("orders:update", (order) => {
    const match = /bench fan-out (\d+)/.exec(order && order.title);
    if (match) write(`f ${match[1]} ${Date.now()}`);
  });
  done();
}

module.exports = { arm };
