// Presence (issue 18): the backend's event handler (OPTIONS/POST /eventhandler, CloudEvents over
// HTTP as Azure Web PubSub calls it: the abuse-protection handshake, ce-signature, ce-hub), the
// embedded emulator calling it the way the service does (checked against Microsoft's own
// @azure/web-pubsub-express handler), and what members see: chat.presence events on the
// conversation group, "presence" in every history answer, one user's several connections, and
// a restart (nobody is online until they connect again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { WebPubSubEventHandler } from '@azure/web-pubsub-express';
import { startStub, login, api, rawRequest, waitFor, ACCESS_KEY } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

const EVENT_TIMEOUT = 20000;  // generous: the suite must pass on a loaded machine

let stub;
let alice;
let bob;
before(async () => {
  stub = await startStub({ args: ['--send-rate', '0'] });
  [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

// ---- helpers ------------------------------------------------------------------------------------

const origin = (s) => new URL(s.base).host;
const signature = (connectionId, key = ACCESS_KEY) => 'sha256=' + createHmac('sha256', key).update(connectionId).digest('hex');

// A connection with no group (what the web client opens), with its connection id.
async function open(s, token, protocol) {
  const r = await api(s.base, token, 'POST', '/realtime/clientAccessUrl', { groups: [] });
  assert.equal(r.status, 200, r.text);
  const c = await connect(r.json.url, protocol, { keepPresence: true });
  c.id = (await c.next((f) => f.event === 'connected', EVENT_TIMEOUT)).connectionId;
  return c;
}

async function subscribe(s, token, c, conversationId) {
  const r = await api(s.base, token, 'POST', '/chat/subscribe', { connectionId: c.id, conversationId });
  assert.equal(r.status, 200, r.text);
}

async function newConversation(s, token, title, members) {
  const r = await api(s.base, token, 'POST', '/chat/conversations', { title, members });
  assert.equal(r.status, 201, r.text);
  return r.json.conversation.conversationId;
}

async function presenceOf(s, token, conversationId) {
  const h = await api(s.base, token, 'GET', `/conversation/detail?conversationId=${encodeURIComponent(conversationId)}`);
  assert.equal(h.status, 200, h.text);
  return h.json.presence;
}

const presenceEvent = (user, online) => (f) =>
  f.type === 'message' && f.data?.type === 'chat.presence' && f.data.userId === user && f.data.online === online;

// A CloudEvents request to /eventhandler as the service sends it (binary mode).
function cloudEvent(s, { type = 'azure.webpubsub.sys.connected', connectionId = 'conn-x', userId = 'bob', hub = 'chat',
  sig = signature(connectionId), extra = {} } = {}) {
  const headers = {
    'content-type': 'application/json; charset=utf-8', 'ce-specversion': '1.0', 'ce-type': type, 'ce-awpsversion': '1.0',
    'ce-source': `/hubs/${hub}/client/${connectionId}`, 'ce-id': '1', 'ce-time': new Date().toISOString(), 'ce-hub': hub,
    'ce-connectionId': connectionId, 'ce-userId': userId, 'ce-eventName': type.split('.').pop(), 'webhook-request-origin': origin(s),
    ...(sig === null ? {} : { 'ce-signature': sig }), ...extra,
  };
  for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
  return rawRequest(s, { method: 'POST', path: '/eventhandler', headers, body: '{}' });
}

// ---- the handler, as the service calls it -------------------------------------------------------

test('abuse protection: OPTIONS /eventhandler allows only this backend\'s own service origin', async () => {
  const ok = await rawRequest(stub, { method: 'OPTIONS', path: '/eventhandler', headers: { 'WebHook-Request-Origin': origin(stub) } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.headers['webhook-allowed-origin'], origin(stub));

  const other = await rawRequest(stub, { method: 'OPTIONS', path: '/eventhandler', headers: { 'WebHook-Request-Origin': 'evil.webpubsub.azure.com' } });
  assert.equal(other.status, 403, other.text);
  assert.equal(other.headers['webhook-allowed-origin'], undefined);
  assert.match(other.json.error.message, /only from its own Web PubSub service/);

  // Without the header it is a CORS preflight, never an allowance.
  const cors = await rawRequest(stub, { method: 'OPTIONS', path: '/eventhandler', headers: { Origin: 'https://evil.example' } });
  assert.equal(cors.headers['webhook-allowed-origin'], undefined);

  const get = await rawRequest(stub, { method: 'GET', path: '/eventhandler' });
  assert.equal(get.status, 405, get.text);
});

test('POST /eventhandler refuses unsigned, mis-signed, other-hub, stale, non-CloudEvents and unknown events, and changes nothing', async () => {
  const room = await newConversation(stub, alice, 'Refusals', ['bob']);
  const before = (await presenceOf(stub, alice, room)).bob;
  const cases = [
    [{ sig: null }, 401, /ce-signature does not verify/],
    [{ sig: signature('conn-x', 'another-key-another-key-another-key') }, 401, /ce-signature does not verify/],
    [{ sig: signature('conn-other') }, 401, /ce-signature does not verify/],
    [{ hub: 'other' }, 400, /another hub/],
    [{ extra: { 'ce-specversion': '0.3' } }, 400, /CloudEvents 1\.0/],
    [{ connectionId: '' , sig: signature('') }, 400, /ce-connectionId/],
    [{ type: 'azure.webpubsub.user.message' }, 400, /system events only/],
    [{ userId: 'b'.repeat(129) }, 400, /ce-userId/],
    [{ extra: { 'ce-time': null } }, 400, /ce-time is missing or more than 10 minutes/],
    [{ extra: { 'ce-time': new Date(Date.now() - 11 * 60 * 1000).toISOString() } }, 400, /ce-time/],
    [{ extra: { 'ce-time': new Date(Date.now() + 11 * 60 * 1000).toISOString() } }, 400, /ce-time/],
    [{ extra: { 'ce-time': 'yesterday' } }, 400, /ce-time/],
  ];
  for (const [opts, status, reason] of cases) {
    const r = await cloudEvent(stub, opts);
    assert.equal(r.status, status, `${JSON.stringify(opts)}: ${r.text}`);
    assert.match(r.json.error.message, reason, JSON.stringify(opts));
  }
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, before, 'no refused event changed bob\'s presence');
});

test('signed connected/disconnected events move a member online and offline with a new version each; a repeated event changes nothing', async () => {
  const room = await newConversation(stub, alice, 'Signed events', ['bob']);
  const v0 = (await presenceOf(stub, alice, room)).bob;
  assert.equal(v0.online, false);
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-1', userId: 'bob' })).status, 204);
  const v1 = (await presenceOf(stub, alice, room)).bob;
  assert.deepEqual(v1, { online: true, version: v0.version + 1 });
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-1', userId: 'bob' })).status, 204, 'a redelivery is accepted');
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, v1, 'and changes nothing');
  // The connect event (blocking) is answered with no change; anonymous connections have no presence.
  assert.equal((await cloudEvent(stub, { type: 'azure.webpubsub.sys.connect', connectionId: 'manual-2' })).status, 204);
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-3', userId: null })).status, 204);
  const off = await cloudEvent(stub, { type: 'azure.webpubsub.sys.disconnected', connectionId: 'manual-1' });
  assert.equal(off.status, 204, off.text);
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, { online: false, version: v0.version + 2 });
  assert.equal((await cloudEvent(stub, { type: 'azure.webpubsub.sys.disconnected', connectionId: 'manual-1' })).status, 204);
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, { online: false, version: v0.version + 2 }, 'twice: no change');
  // A captured connected event replayed after its connection ended (even naming another user),
  // or a connected that comes after its disconnected, changes nothing: an id is used once.
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-1', userId: 'bob' })).status, 204);
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-1', userId: 'alice' })).status, 204);
  assert.equal((await cloudEvent(stub, { type: 'azure.webpubsub.sys.disconnected', connectionId: 'manual-4' })).status, 204);
  assert.equal((await cloudEvent(stub, { connectionId: 'manual-4', userId: 'bob' })).status, 204);
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, { online: false, version: v0.version + 2 }, 'replays change nothing');
});

test('a lost disconnected event keeps nobody online: the sweep ends stored connections the emulator no longer has', async () => {
  const s = await startStub({ args: ['--presence-sweep', '1'] });
  try {
    const [a] = await Promise.all(['alice'].map((u) => login(s.base, u)));
    const room = await newConversation(s, a, 'Sweep', ['bob']);
    // A connected event for a connection the emulator does not have (its disconnected never comes).
    assert.equal((await cloudEvent(s, { connectionId: 'ghost-1', userId: 'bob' })).status, 204);
    assert.equal((await presenceOf(s, a, room)).bob.online, true);
    const off = await waitFor(async () => { const p = (await presenceOf(s, a, room)).bob; return !p.online && p; }, { timeout: EVENT_TIMEOUT });
    assert.equal(off.version, 2);
    // A real connection is left alone.
    await open(s, await login(s.base, 'bob'));
    await waitFor(async () => (await presenceOf(s, a, room)).bob.online, { timeout: EVENT_TIMEOUT });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await presenceOf(s, a, room)).bob.online, true, 'still online after two sweeps');
  } finally {
    await s.stop();
  }
});

// ---- the embedded emulator calls it -------------------------------------------------------------

test('live: a member\'s first connection publishes online, a second one nothing, the last one\'s close offline (versions grow)', async () => {
  const room = await newConversation(stub, alice, 'Live presence', ['bob']);
  const watcher = await open(stub, alice);
  await subscribe(stub, alice, watcher, room);
  const outsider = await open(stub, await login(stub.base, 'carol'));  // in no conversation with bob here
  const b1 = await open(stub, bob);
  const on = await watcher.next(presenceEvent('bob', true), EVENT_TIMEOUT);
  assert.equal(on.data.conversationId, room);
  const p1 = await waitFor(async () => { const p = (await presenceOf(stub, alice, room)).bob; return p.online && p; });
  assert.equal(p1.version, on.data.version, 'the answer and the event agree');
  assert.equal((await presenceOf(stub, bob, room)).alice.online, true, 'the watcher is online too');

  const b2 = await open(stub, bob, 'json.reliable.webpubsub.azure.v1');
  b1.close();
  await b1.closed;
  // bob still has b2: neither closing b1 nor opening b2 changed anything.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(watcher.frames.filter(presenceEvent('bob', false)).length, 0, 'no offline while a connection remains');
  assert.deepEqual((await presenceOf(stub, alice, room)).bob, p1);

  b2.ws.close(1000);  // a normal close ends the reliable session (any other code leaves it recoverable)
  const off = await watcher.next(presenceEvent('bob', false), EVENT_TIMEOUT);
  assert.ok(off.data.version > on.data.version, 'offline has the newer version');
  assert.equal((await presenceOf(stub, alice, room)).bob.online, false);
  // carol shares only the demo conversation with bob and has not joined its group: nothing reached her.
  assert.deepEqual(outsider.frames.filter((f) => f.data?.type === 'chat.presence' && f.data.userId === 'bob'), []);
  outsider.close();
  watcher.close();
});

test('POST /realtime/leave: a dropped reliable session that would wait 30 s for recovery ends at once, and only its owner may end it', async () => {
  const room = await newConversation(stub, alice, 'Leaving page', ['bob']);
  const watcher = await open(stub, alice);
  await subscribe(stub, alice, watcher, room);
  const carol = await login(stub.base, 'carol');
  const b = await open(stub, bob, 'json.reliable.webpubsub.azure.v1');
  await watcher.next(presenceEvent('bob', true), EVENT_TIMEOUT);
  // The page is torn down before its close frame leaves: the socket just drops.
  b.ws.terminate();
  await b.closed;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(watcher.frames.filter(presenceEvent('bob', false)).length, 0, 'a dropped reliable session waits for recovery');

  // Refused: no session, bad bodies, someone else's connection (a fellow member's, an outsider's).
  const anonymous = await rawRequest(stub, { method: 'POST', path: '/realtime/leave', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ connectionId: b.id }) });
  assert.equal(anonymous.status, 401);
  for (const body of [{}, { connectionId: 5 }, { connectionId: '' }, { connectionId: 'x'.repeat(300) }, []]) {
    const r = await api(stub.base, bob, 'POST', '/realtime/leave', body);
    assert.equal(r.status, 400, JSON.stringify(body) + ' ' + r.text);
    assert.match(r.json.error.message, /connectionId|JSON object/);
  }
  for (const token of [alice, carol]) {
    const r = await api(stub.base, token, 'POST', '/realtime/leave', { connectionId: b.id });
    assert.equal(r.status, 404, r.text);
  }
  assert.equal((await presenceOf(stub, alice, room)).bob.online, true, 'nothing a refused request did ended the session');

  // The owner's leave (what the web client sends with fetch keepalive on pagehide) ends it now.
  const r = await api(stub.base, bob, 'POST', '/realtime/leave', { connectionId: b.id });
  assert.equal(r.status, 204, r.text);
  await watcher.next(presenceEvent('bob', false), EVENT_TIMEOUT);  // well inside the 30 s recovery window
  assert.equal((await presenceOf(stub, alice, room)).bob.online, false);
  // Its session is gone: a second leave finds no live connection.
  const again = await api(stub.base, bob, 'POST', '/realtime/leave', { connectionId: b.id });
  assert.equal(again.status, 404, again.text);
  watcher.close();
});

test('the emulator\'s requests are what Microsoft\'s @azure/web-pubsub-express handler takes: handshake, ce-* headers, a valid signature', async () => {
  const seen = [];
  const options = [];
  let middleware;  // Microsoft's handler, made once the stub's endpoint (its allowed origin) is known
  const server = http.createServer((req, res) => {
    // What express gives the middleware: baseUrl and path.
    req.baseUrl = '';
    req.path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'OPTIONS') options.push(req.headers['webhook-request-origin']);
    middleware(req, res, () => { res.statusCode = 404; res.end(); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/api/webpubsub/hubs/chat/`;
  const s = await startStub({ args: ['--event-handler', url] });
  try {
    middleware = new WebPubSubEventHandler('chat', {
      path: '/api/webpubsub/hubs/chat/',
      allowedEndpoints: [s.base],
      onConnected: (req) => seen.push({ event: 'connected', context: req.context }),
      onDisconnected: (req) => seen.push({ event: 'disconnected', context: req.context, reason: req.reason }),
    }).getMiddleware();
    const token = await login(s.base, 'carol');
    const c = await open(s, token);
    await waitFor(() => seen.length >= 1, { timeout: EVENT_TIMEOUT });
    assert.equal(seen.length, 1, s.stderr());
    assert.deepEqual(options.slice(0, 1), [origin(s)], 'the abuse-protection handshake came first, naming the emulator');
    assert.equal(seen[0].event, 'connected');
    const ctx = seen[0].context;
    assert.equal(ctx.userId, 'carol');
    assert.equal(ctx.hub, 'chat');
    assert.equal(ctx.connectionId, c.id);
    assert.equal(ctx.eventName, 'connected');
      assert.equal(ctx.origin, origin(s));
    assert.equal(ctx.signature, signature(c.id), 'ce-signature is the HMAC-SHA256 of the connection id with the access key');
    c.close();
    await waitFor(() => seen.length >= 2, { timeout: EVENT_TIMEOUT });
    assert.equal(seen[1].event, 'disconnected');
    assert.equal(seen[1].context.connectionId, c.id);
    // The stub's own handler was never called: carol's state there was never set (version 0).
    const room = await newConversation(s, token, 'Elsewhere', ['alice']);
    assert.deepEqual((await presenceOf(s, token, room)).carol, { online: false, version: 0 });
  } finally {
    await s.stop();
    server.close();
  }
});

test('an event handler that refuses the handshake gets no events', async () => {
  const posts = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') posts.push(req.headers['ce-type']);
    res.statusCode = req.method === 'OPTIONS' ? 200 : 204;  // 200 without WebHook-Allowed-Origin: not allowed
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const s = await startStub({ args: ['--event-handler', `http://127.0.0.1:${server.address().port}/hook`] });
  try {
    const c = await open(s, await login(s.base, 'carol'));
    c.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(posts, []);
    assert.match(s.stderr(), /refused the abuse-protection handshake/);
  } finally {
    await s.stop();
    server.close();
  }
});

test('restart: whoever was online before is offline after it (a newer version), until they connect again', async () => {
  const s = await startStub({ keepDir: true });
  let again;
  try {
    const [a, b] = await Promise.all(['alice', 'bob'].map((u) => login(s.base, u)));
    const room = await newConversation(s, a, 'Restart', ['bob']);
    await open(s, b);
    const on = await waitFor(async () => { const p = (await presenceOf(s, a, room)).bob; return p.online && p; }, { timeout: EVENT_TIMEOUT });
    await s.stop('SIGKILL');  // no disconnected event: the row stays until the next start
    again = await startStub({ db: s.dbPath });
    const after1 = (await presenceOf(again, await login(again.base, 'alice'), room)).bob;
    assert.equal(after1.online, false);
    assert.ok(after1.version > on.version, `${after1.version} > ${on.version}`);
    await open(again, await login(again.base, 'bob'));
    const back = await waitFor(async () => { const p = (await presenceOf(again, await login(again.base, 'alice'), room)).bob; return p.online && p; },
      { timeout: EVENT_TIMEOUT });
    assert.ok(back.version > after1.version);
  } finally {
    await again?.stop();
    await s.stop();
  }
});
