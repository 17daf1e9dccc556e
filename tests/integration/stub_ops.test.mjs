// Operations and limits: health, CORS, rate limit, attachments, outbox retries and dead rows, /_stub/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { tinyPng } from '../lib/files.mjs';
import { joinAs, connect } from '../lib/ws.mjs';

test('healthz, --help, CORS and the disabled /_stub/ API', async () => {
  const stub = await startStub({ args: ['--allow-origin', 'https://site.example'] });
  try {
    const h = await fetch(`${stub.base}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ready', database: 'open', outboxWorker: 'running' });
    const pre = await fetch(`${stub.base}/chat/reply`, { method: 'OPTIONS', headers: { Origin: 'https://site.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://site.example');
    assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
    const other = await fetch(`${stub.base}/config`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const ok = await fetch(`${stub.base}/config`, { headers: { Origin: 'https://site.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://site.example');
  } finally { await stub.stop(); }
  const { execFileSync } = await import('node:child_process');
  const { STUB_BIN } = await import('../lib/stub.mjs');
  const help = execFileSync(STUB_BIN, ['--help']).toString();
  for (const flag of ['--port', '--db', '--access-key', '--static', '--pubsub-connection-string', '--token-ttl', '--allow-origin', '--enable-stub-api'])
    assert.ok(help.includes(flag), flag);
});

test('per-user send rate limit answers 429 with Retry-After', async () => {
  const stub = await startStub({ args: ['--send-rate', '6'] });
  try {
    const alice = await login(stub.base, 'alice');
    const bob = await login(stub.base, 'bob');
    const statuses = [];
    for (let i = 0; i < 22; i++)
      statuses.push((await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: `m${i}`, clientMessageId: `r${i}` })));
    assert.ok(statuses.slice(0, 20).every((r) => r.status === 201), 'the burst goes through');
    const limited = statuses.find((r) => r.status === 429);
    assert.ok(limited, 'then 429');
    assert.match(limited.json.error.message, /try again in \d+ s/);
    const r = await fetch(`${stub.base}/chat/reply`, { method: 'POST', headers: { Authorization: `Bearer ${alice}` }, body: JSON.stringify({ conversationId: 'demo', message: 'x', clientMessageId: 'rx' }) });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // Other users are not affected.
    assert.equal((await api(stub.base, bob, 'POST', '/chat/reply', { conversationId: 'demo', message: 'bob', clientMessageId: 'b1' })).status, 201);
  } finally { await stub.stop(); }
});

test('attachments: upload, signed link, tampering, size limit, message carries the link', async () => {
  const stub = await startStub({ args: ['--max-blob-bytes', '1000'] });
  try {
    const alice = await login(stub.base, 'alice');
    const bytes = tinyPng();  // a real PNG: only those are served inline as image/png
    const up = await fetch(`${stub.base}/blobs?name=pic.png`, { method: 'POST', headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'image/png' }, body: bytes });
    assert.equal(up.status, 201);
    const blob = await up.json();
    assert.equal(blob.size, bytes.length);
    assert.match(blob.url, /^\/blobs\/blob_[0-9a-f]+\?exp=\d+&sig=/);
    const down = await fetch(stub.base + blob.url);
    assert.equal(down.status, 200);
    assert.equal(down.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), bytes);
    const tampered = blob.url.replace(/sig=(.)/, (_, c) => `sig=${c === 'A' ? 'B' : 'A'}`);
    assert.notEqual(tampered, blob.url);
    assert.equal((await fetch(stub.base + tampered)).status, 403);
    assert.equal((await fetch(stub.base + blob.url.replace(/exp=\d+/, 'exp=1'))).status, 403);
    const big = await fetch(`${stub.base}/blobs?name=big.bin`, { method: 'POST', headers: { Authorization: `Bearer ${alice}` }, body: Buffer.alloc(1001) });
    assert.equal(big.status, 413);
    assert.equal((await fetch(`${stub.base}/blobs?name=x`, { method: 'POST', body: 'x' })).status, 401);
    const msg = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: '', clientMessageId: 'att', attachment: { url: blob.url, name: 'pic.png', size: bytes.length, contentType: 'image/png' } });
    assert.equal(msg.status, 201);
    const { url, ...rest } = msg.json.message.attachment;
    assert.deepEqual(rest, { name: 'pic.png', size: bytes.length, contentType: 'image/png' });
    assert.equal(url.replace(/\?.*$/, ''), blob.url.replace(/\?.*$/, ''), 'the same file, its link signed for the answer');
    assert.equal((await fetch(stub.base + url)).status, 200);
  } finally { await stub.stop(); }
});

test('outbox: failed publishes are retried without duplicates, then parked as dead and visible', async () => {
  const stub = await startStub({ args: ['--outbox-max-attempts', '3', '--outbox-retry-ms', '50'] });
  try {
    const alice = await login(stub.base, 'alice');
    const bob = await login(stub.base, 'bob');
    // The seed's welcome message went out before "ready": the first message this join sees is ours.
    const c = await joinAs(stub.base, bob, 'conversation:demo');

    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?failNext=2')).status, 200);
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'eventually', clientMessageId: 'o1' });
    const m = await c.next((f) => f.type === 'message' && f.from === 'group', 5000);
    assert.equal(m.data.message.messageId, sent.json.message.messageId, 'delivered after failed tries');
    for (let i = 0; i < 50 && (await stubApi(stub, 'GET', '/_stub/state')).json.outbox.pending > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await stubApi(stub, 'GET', '/_stub/state')).json.outbox.pending, 0, 'the activity row was retried and published too');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.frames.filter((f) => f.type === 'message').length, 0, 'exactly once');

    // Both rows of the next message fail every try: each is parked as dead after 3 attempts.
    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?failNext=6')).status, 200);
    const doomed = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'doomed', clientMessageId: 'o2' });
    let state;
    for (let i = 0; i < 50; i++) {
      state = (await stubApi(stub, 'GET', '/_stub/state')).json;
      if (state.outbox.dead === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state.outbox.dead, 2);
    assert.deepEqual(state.outbox.deadRows.map((d) => d.eventId).sort(),
      [doomed.json.message.messageId, `act:${doomed.json.message.messageId}`].sort());
    assert.equal(state.outbox.deadRows[0].retryCount, 3);
    assert.match(state.outbox.deadRows[0].lastError, /fault injection/);
    // The message itself is stored: history has it even though the live publish died.
    const hist = await api(stub.base, bob, 'GET', '/conversation/detail?conversationId=demo&afterSeq=1');
    assert.ok(hist.json.messages.some((x) => x.text === 'doomed'));
    assert.ok(state.connections.some((x) => x.userId === 'bob' && x.groups.includes('conversation:demo')));
    c.close();
  } finally { await stub.stop(); }
});

test('the /_stub/ API is off unless enabled', async () => {
  const { spawn } = await import('node:child_process');
  const { STUB_BIN } = await import('../lib/stub.mjs');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/stub-`);
  const proc = spawn(STUB_BIN, ['--port', '0', '--db', `${dir}/x.db`]);
  const port = await new Promise((r) => { let o = ''; proc.stdout.on('data', (d) => { o += d; const m = o.match(/"port":(\d+)/); if (m) r(m[1]); }); });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/_stub/state`);
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /--enable-stub-api/);
  } finally { proc.kill(); }
});

// SIGTERM while clients are connected (a plain one, a reliable one, a reliable session waiting
// for its recovery): the stub exits 0. Before, the hub's connections outlived the io loop their
// sockets belonged to, and the stub crashed on the way out (SIGSEGV or SIGABRT).
test('SIGTERM with WebSocket clients connected: a clean exit', async () => {
  for (let i = 0; i < 3; i++) {
    const stub = await startStub();
    const alice = await login(stub.base, 'alice');
    const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groups: [] })).json.url;
    await connect(url);
    await connect(url, 'json.reliable.webpubsub.azure.v1');
    const dropped = await connect(url, 'json.reliable.webpubsub.azure.v1');
    await dropped.next((f) => f.event === 'connected');
    dropped.ws.terminate();  // no close frame: the session waits for its recovery
    await new Promise((r) => setTimeout(r, 100));
    await stub.stop();
    assert.equal(stub.proc.signalCode, null, 'no signal');
    assert.equal(stub.proc.exitCode, 0);
  }
});
