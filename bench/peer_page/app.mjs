// The time-to-interactive peer (issue 14, target 1): a plain page with the official
// @azure/web-pubsub-client doing what the chat panel does on open, against the same stub:
// sign in, the conversation list, the latest history page (listed in the DOM), a client access
// URL and the socket, the server-side subscription, a catch-up from the newest message seen.
// bench/peer_site.mjs bundles it with esbuild (the SDK and its dependencies in one file, minified).
// With ?ingest=1 (bench/ingest.mjs) a live message is kept in the page's model (deduplicated by id,
// in order) and not put in the DOM, as the chat panel's model keeps it until the next frame draws.
import { WebPubSubClient } from '@azure/web-pubsub-client';

const params = new URLSearchParams(location.search);
const user = params.get('user') || 'alice';
const conv = params.get('conversation') || 'demo';
const status = document.getElementById('chat-status');
const log = document.getElementById('chat-log');

async function call(method, path, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status}`);
  return r.json();
}

const ingest = params.has('ingest');
const seen = new Set();
const model = [];
let lastSeq = 0;
window.__peer = { count: () => model.length, last: () => model[model.length - 1]?.messageId };
function show(m) {
  if (seen.has(m.messageId)) return;
  seen.add(m.messageId);
  lastSeq = Math.max(lastSeq, m.seq || 0);
  if (ingest) { model.push(m); return; }
  const li = document.createElement('div');
  li.dataset.messageId = m.messageId;
  li.textContent = `${m.senderId}: ${m.text}`;
  log.append(li);
}

const login = await (await fetch('/auth/dev-login', { method: 'POST', body: JSON.stringify({ userId: user }) })).json();
const token = login.token;
const client = new WebPubSubClient({
  getClientAccessUrl: async () => (await call('POST', '/realtime/clientAccessUrl', token, { hubName: 'chat' })).url,
});
client.on('group-message', (e) => {
  const d = e.message.data;
  if (d && d.type === 'chat.message' && d.message?.conversationId === conv) show(d.message);
});
const connected = new Promise((resolve) => client.on('connected', (e) => resolve(e.connectionId)));
const [, detail, connectionId] = await Promise.all([
  call('GET', '/chat/conversations', token),
  call('GET', `/conversation/detail?conversationId=${encodeURIComponent(conv)}&limit=50`, token),
  client.start().then(() => connected),
]);
for (const m of detail.messages) show(m);
await call('POST', '/chat/subscribe', token, { connectionId, conversationId: conv });
const after = await call('GET', `/conversation/detail?conversationId=${encodeURIComponent(conv)}&afterSeq=${lastSeq}&limit=50`, token);
for (const m of after.messages) show(m);
status.textContent = 'connected';
