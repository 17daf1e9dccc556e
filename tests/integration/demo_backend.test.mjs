// The stub's backend compiled to WebAssembly (server-stub/browser, issue 15's static demo), driven
// the way its worker drives it: HTTP requests and WebSocket frames as JSON through its C entry
// points, frames back through Module.demoSend. The same routes and rules as the native server
// (dev login, access URLs, the client endpoint's token checks, the outbox publishing to the
// conversation group, presence), signed with the portable HS256, and a store that survives a
// restart from the bytes of its file (what the worker keeps in IndexedDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';

const BACKEND = process.env.DEMO_BACKEND || new URL('../../build/wasm/demo-backend/demo_backend.js', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const KEY = 'demo-key-0123456789abcdef0123456789abcdef';
const ORIGIN = 'https://demo.example';

// One backend instance; `files` restores its folder first (path -> bytes).
async function start(files = {}) {
  assert.ok(existsSync(BACKEND), `${BACKEND} is missing: build the wasm preset`);
  const frames = new Map();  // socket id -> frames (parsed)
  const closes = new Map();  // socket id -> {code, reason}
  const createDemoBackend = require(BACKEND);
  const M = await createDemoBackend({
    // The bytes themselves: emcc 3.1.6 would load the .wasm with node's fetch(), which takes no file path.
    wasmBinary: readFileSync(BACKEND.replace(/\.js$/, '.wasm')),
    demoSend: (id, text) => { if (!frames.has(id)) frames.set(id, []); frames.get(id).push(JSON.parse(text)); },
    demoClose: (id, code, reason) => closes.set(id, { code, reason }),
  });
  M.FS.mkdir('/demo');
  for (const [p, bytes] of Object.entries(files)) M.FS.writeFile(p, bytes);
  assert.equal(M.ccall('demo_start', 'number', ['string', 'string', 'string'], ['/demo', KEY, ORIGIN]), 1);
  const call = (fn, types, args) => {
    const ptr = M.ccall(fn, 'number', types, args);
    const text = M.UTF8ToString(ptr);
    M._demo_free(ptr);
    return JSON.parse(text);
  };
  const http = (method, target, { token, body } = {}) => {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = call('demo_http', ['string'], [JSON.stringify({ method, target, headers, body: body === undefined ? '' : JSON.stringify(body) })]);
    const text = Buffer.from(res.bodyBase64, 'base64').toString('utf8');
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, text, json };
  };
  const wsOpen = (id, url, protocol) => call('demo_ws_open', ['number', 'string', 'string'], [id, url, protocol]);
  const wsSend = (id, obj) => M.ccall('demo_ws_message', null, ['number', 'string'], [id, JSON.stringify(obj)]);
  const wsClosed = (id, code) => M.ccall('demo_ws_closed', null, ['number', 'number'], [id, code]);
  const login = (userId) => {
    const r = http('POST', '/auth/dev-login', { body: { userId } });
    assert.equal(r.status, 200, r.text);
    return r.json.token;
  };
  return { M, http, wsOpen, wsSend, wsClosed, login, frames: (id) => frames.get(id) || [], closes };
}

test('the in-browser backend: sign-in, access URL, a reliable socket subscribed to a conversation receives a message another user posts', async () => {
  const b = await start();
  const alice = b.login('alice');
  const bob = b.login('bob');
  assert.equal(b.http('GET', '/config').json.hub, 'chat');
  const list = b.http('GET', '/chat/conversations', { token: bob });
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.conversations.some((c) => c.conversationId === 'demo'), list.text);

  // The access URL names the page's origin; the token is checked by the same client endpoint rules.
  const access = b.http('POST', '/realtime/clientAccessUrl', { token: bob, body: { groups: [] } });
  assert.equal(access.status, 200, access.text);
  assert.match(access.json.url, /^wss:\/\/demo\.example\/client\/hubs\/chat\?access_token=/);
  const opened = b.wsOpen(1, access.json.url, 'json.reliable.webpubsub.azure.v1');
  assert.deepEqual(opened, { ok: true, protocol: 'json.reliable.webpubsub.azure.v1' });
  const connected = b.frames(1).find((f) => f.type === 'system' && f.event === 'connected');
  assert.ok(connected, JSON.stringify(b.frames(1)));
  assert.equal(connected.userId, 'bob');
  const sub = b.http('POST', '/chat/subscribe', { token: bob, body: { connectionId: connected.connectionId, conversationId: 'demo' } });
  assert.equal(sub.status, 200, sub.text);

  const sent = b.http('POST', '/chat/reply', { token: alice, body: { conversationId: 'demo', message: 'hello from the worker', clientMessageId: 'c1' } });
  assert.equal(sent.status, 201, sent.text);
  const got = b.frames(1).find((f) => f.type === 'message' && f.group === 'conversation:demo' && f.data?.type === 'chat.message');
  assert.ok(got, 'the outbox published the message to the conversation group: ' + JSON.stringify(b.frames(1)));
  assert.equal(got.data.message.text, 'hello from the worker');
  assert.equal(got.data.message.senderId, 'alice');
  assert.ok(got.sequenceId > 0, 'reliable: a sequence id');

  // Presence came through the event handler, as with the service: alice sees bob online.
  const detail = b.http('GET', '/conversation/detail?conversationId=demo', { token: alice });
  assert.equal(detail.status, 200, detail.text);
  assert.equal(detail.json.presence.bob.online, true);
  b.wsClosed(1, 1000);
  assert.equal(b.http('GET', '/conversation/detail?conversationId=demo', { token: alice }).json.presence.bob.online, false);
});

test('the in-browser backend refuses what the server refuses: no token, a forged or other-hub token, a non-member\'s subscription, bad JSON', async () => {
  const b = await start();
  const carol = b.login('carol');
  const access = b.http('POST', '/realtime/clientAccessUrl', { token: carol, body: { groups: [] } }).json.url;
  assert.equal(b.wsOpen(1, 'wss://demo.example/client/hubs/chat', 'json.webpubsub.azure.v1').status, 401);
  const token = new URL(access).searchParams.get('access_token');
  const [h, p] = token.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url')), sub: 'alice' })).toString('base64url')}.${token.split('.')[2]}`;
  assert.equal(b.wsOpen(2, `wss://demo.example/client/hubs/chat?access_token=${forged}`, 'json.webpubsub.azure.v1').status, 401);
  assert.equal(b.wsOpen(3, access.replace('/hubs/chat', '/hubs/other'), 'json.webpubsub.azure.v1').status, 401);
  assert.equal(b.http('POST', '/realtime/clientAccessUrl', { token: carol, body: { groups: ['conversation:nope'] } }).status, 403);
  assert.equal(b.http('GET', '/chat/conversations').status, 401);
  assert.equal(b.http('GET', '/chat/conversations', { token: carol + 'x' }).status, 401);
  const bad = b.http('POST', '/chat/reply', { token: carol, body: [] });
  assert.equal(bad.status, 400, bad.text);
});

test('the store survives a restart from its file\'s bytes (what the worker keeps in IndexedDB)', async () => {
  const first = await start();
  const alice = first.login('alice');
  const sent = first.http('POST', '/chat/reply', { token: alice, body: { conversationId: 'demo', message: 'kept across reloads', clientMessageId: 'k1' } });
  assert.equal(sent.status, 201, sent.text);
  const bytes = first.M.FS.readFile('/demo/chat.db');
  assert.ok(bytes.length > 0);
  const second = await start({ '/demo/chat.db': bytes });
  const history = second.http('GET', '/conversation/detail?conversationId=demo', { token: second.login('alice') });
  assert.equal(history.status, 200, history.text);
  assert.ok(history.json.messages.some((m) => m.text === 'kept across reloads' && m.senderId === 'alice'), history.text);
  // The seed is idempotent: one welcome message, not two.
  assert.equal(history.json.messages.filter((m) => m.messageId === first.http('GET', '/conversation/detail?conversationId=demo',
    { token: alice }).json.messages[0].messageId).length, 1);
});

// The demo's scripted users, on the backend's own clock (Date.now, which the wasm's clock reads,
// moved forward here): a member without a page answers someone who has one, shows online while
// active, leaves once idle, and still answers after their first session would have expired.
test('a demo user without a page answers, goes offline once idle, and answers again half a day later', async () => {
  const realNow = Date.now;
  let shift = 0;
  Date.now = () => realNow.call(Date) + shift;
  try {
    const b = await start();
    let alice = b.login('alice');
    const url = b.http('POST', '/realtime/clientAccessUrl', { token: alice, body: { groups: [] } }).json.url;
    assert.equal(b.wsOpen(1, url, 'json.webpubsub.azure.v1').ok, true);  // alice has a page
    const detail = () => b.http('GET', '/conversation/detail?conversationId=demo', { token: alice }).json;
    // alice says something; the tick runs as the worker's timer would, the clock moving 0.5 s a time.
    const answer = (text, id) => {
      const sent = b.http('POST', '/chat/reply', { token: alice, body: { conversationId: 'demo', message: text, clientMessageId: id } });
      assert.equal(sent.status, 201, sent.text);
      for (let i = 0; i < 30; i++) {
        shift += 500;
        b.M._demo_tick();
        const d = detail();
        const after = d.messages.slice(d.messages.findIndex((m) => m.messageId === sent.json.message.messageId) + 1);
        const reply = after.find((m) => m.senderId !== 'alice');
        if (reply) return { who: reply.senderId, d };
      }
      assert.fail(`no demo user answered "${text}": ${JSON.stringify(detail().messages.slice(-3))}`);
    };
    const first = answer('anyone there?', 'q1');
    assert.ok(['bob', 'carol'].includes(first.who), first.who);
    assert.equal(first.d.presence[first.who].online, true, 'online while answering');
    shift += 25000;
    b.M._demo_tick();
    assert.equal(detail().presence[first.who].online, false, 'offline once idle');

    shift += 13 * 3600 * 1000;  // past the 12 h of a session
    alice = b.login('alice');
    const later = answer('still there?', 'q2');
    assert.ok(['bob', 'carol'].includes(later.who), later.who);
  } finally {
    Date.now = realNow;
  }
});

// A recovery the backend cannot grant (no such session, or a wrong token) is accepted and then
// closed with 1008, as the service does, so the client starts a fresh connection; the right
// token recovers the same connection, which receives what was published meanwhile.
test('recovery: refused with 1008 for an unknown session or a wrong token, granted to the same connection with the right one', async () => {
  const b = await start();
  const bob = b.login('bob');
  const url = b.http('POST', '/realtime/clientAccessUrl', { token: bob, body: { groups: [] } }).json.url;
  const reliable = 'json.reliable.webpubsub.azure.v1';
  assert.equal(b.wsOpen(1, url, reliable).ok, true);
  const connected = b.frames(1).find((f) => f.type === 'system' && f.event === 'connected');
  assert.ok(connected?.reconnectionToken, JSON.stringify(b.frames(1)));
  assert.equal(b.http('POST', '/chat/subscribe', { token: bob, body: { connectionId: connected.connectionId, conversationId: 'demo' } }).status, 200);
  b.wsClosed(1, 1006);  // dropped, not closed: the session waits for its recovery
  const alice = b.login('alice');
  assert.equal(b.http('POST', '/chat/reply', { token: alice, body: { conversationId: 'demo', message: 'while bob was away', clientMessageId: 'r1' } }).status, 201);

  const recover = (id, token) => `${url}&awps_connection_id=${encodeURIComponent(id)}&awps_reconnection_token=${encodeURIComponent(token)}`;
  const unknown = b.wsOpen(2, recover('nope', connected.reconnectionToken), reliable);
  assert.equal(unknown.ok, true);
  assert.equal(unknown.closeCode, 1008, JSON.stringify(unknown));
  const wrong = b.wsOpen(3, recover(connected.connectionId, 'x' + connected.reconnectionToken), reliable);
  assert.equal(wrong.closeCode, 1008, JSON.stringify(wrong));
  const right = b.wsOpen(4, recover(connected.connectionId, connected.reconnectionToken), reliable);
  assert.deepEqual(right, { ok: true, protocol: reliable });
  const missed = b.frames(4).find((f) => f.type === 'message' && f.data?.message?.text === 'while bob was away');
  assert.ok(missed, 'the recovered connection gets what was published meanwhile: ' + JSON.stringify(b.frames(4)));
  // The service may say connected again on a recovery; it names the same connection.
  const again = b.frames(4).filter((f) => f.type === 'system' && f.event === 'connected');
  assert.ok(again.every((f) => f.connectionId === connected.connectionId), 'the same session: ' + JSON.stringify(again));
});
