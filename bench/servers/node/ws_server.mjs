// Reference server D: Node.js `ws`, broadcasting the way its README documents it
// (wss.clients.forEach(client => client.send(data))). Same protocol as raw_websockets.py:
//   ws://HOST:PORT/sub  subscriber; never needs to send anything
//   ws://HOST:PORT/pub  publisher; every text frame is sent verbatim to every subscriber
// Compression is off. Writes the bound port to --ready-file once listening.
//   node bench/servers/node/ws_server.mjs --host 127.0.0.1 --port 0 --ready-file /tmp/port
import { renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { WebSocketServer, WebSocket } from "ws";

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const host = option("host", "127.0.0.1");
const port = Number(option("port", "0"));
const readyFile = option("ready-file", "");

const subscribers = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const publishers = new WebSocketServer({ noServer: true, perMessageDeflate: false });

publishers.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    subscribers.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    });
  });
});

const server = createServer((req, res) => { res.writeHead(404); res.end(); });
server.on("upgrade", (req, socket, head) => {
  const path = req.url.split("?", 1)[0];
  const wss = path === "/sub" ? subscribers : path === "/pub" ? publishers : null;
  if (wss === null) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
});
server.listen({ host, port, backlog: 4096 }, () => {
  const bound = server.address().port;
  if (readyFile) {
    // Written whole, then renamed: the orchestrator must never read an empty file.
    writeFileSync(`${readyFile}.tmp`, String(bound));
    renameSync(`${readyFile}.tmp`, readyFile);
  }
  console.log(`READY ${bound}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
