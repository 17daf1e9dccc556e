// The fan-out peer (issue 14): a minimal Node `ws` broadcast server doing what the stub's group
// send does, and nothing more: clients connect to /?group=G and join that group; POST
// /groups/G/:send with a JSON body sends {"type":"message","from":"group","group":G,
// "dataType":"json","data":<body>} to every member (serialised once, as a careful Node server
// would). Prints {"port":N} when listening. No auth, no acks, no persistence: a floor to compare with.
import http from 'node:http';
import { createRequire } from 'node:module';

// ws is installed with the tests' packages (tests/package.json, scripts/setup).
const { WebSocketServer } = createRequire(new URL('../tests/package.json', import.meta.url))('ws');

const groups = new Map();
const server = http.createServer((req, res) => {
  // POST /gc: a full collection (started with --expose-gc), so that the connections' idle memory
  // is read without the garbage their opening left (the stub has none to collect).
  if (req.method === 'POST' && req.url === '/gc' && typeof globalThis.gc === 'function') {
    globalThis.gc();
    res.writeHead(204);
    res.end();
    return;
  }
  const m = req.url.match(/^\/groups\/([^/]+)\/:send/);
  if (req.method !== 'POST' || !m) { res.writeHead(404); res.end(); return; }
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const group = decodeURIComponent(m[1]);
    const text = JSON.stringify({ type: 'message', from: 'group', group, dataType: 'json', data: JSON.parse(body) });
    for (const ws of groups.get(group) ?? []) ws.send(text);
    res.writeHead(202);
    res.end();
  });
});
const wss = new WebSocketServer({ server, handleProtocols: (protocols) => [...protocols][0] ?? false });
wss.on('connection', (ws, req) => {
  const group = new URL(req.url, 'http://x').searchParams.get('group') ?? '';
  if (!groups.has(group)) groups.set(group, new Set());
  groups.get(group).add(ws);
  ws.on('close', () => groups.get(group).delete(ws));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
