// Fidelity of the embedded emulator to Azure Web PubSub and Microsoft's emulator (issue 10, items
// 10-13): which client closes end a reliable session, binary frames for simple clients, close
// codes for bad data, events without an upstream handler, and what a recovery URL must carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startStub, stubApi, rest, clientToken, waitFor } from '../lib/stub.mjs';
import { connect, tryConnect, connectedOrClosed } from '../lib/ws.mjs';

const RELIABLE = 'json.reliable.webpubsub.azure.v1';
const JSON_V1 = 'json.webpubsub.azure.v1';

let stub;
before(async () => { stub = await startStub(); });
after(async () => { await stub?.stop(); });

const clientUrl = (token) => `ws://${stub.host}:${stub.port}/client/hubs/chat?access_token=${encodeURIComponent(token)}`;

// A recovery URL the way the official client builds it: the original URL plus the awps_* pair.
function recoveryUrl(original, connectionId, reconnectionToken) {
  const u = new URL(original);
  u.searchParams.set('awps_connection_id', connectionId);
  if (reconnectionToken !== undefined) u.searchParams.set('awps_reconnection_token', reconnectionToken);
  return u.toString();
}

async function state(connectionId) {
  const s = await stubApi(stub, 'GET', '/_stub/state');
  assert.equal(s.status, 200);
  return s.json.connections.find((c) => c.connectionId === connectionId);
}

// A socket without a subprotocol ("simple" client): frames are raw, text or binary.
function rawConnect(url, protocols = []) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const frames = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const f = { isBinary, data: Buffer.from(data) };
      frames.push(f);
      for (const w of [...waiters]) { waiters.splice(waiters.indexOf(w), 1); w(f); }
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    const closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('open', () => resolve({
      ws, frames, closed,
      next(timeout = 5000) {
        if (frames.length) return Promise.resolve(frames.shift());
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error('timed out waiting for a frame')), timeout);
          waiters.push((f) => { clearTimeout(t); frames.splice(frames.indexOf(f), 1); res(f); });
        });
      },
    }));
  });
}

// ---- item 10: only a client close with code 1000 ends a reliable session -----------------------

test('a reliable session survives a client close with a code other than 1000 and is recovered with what it missed', async () => {
  const url = clientUrl(clientToken(stub, { sub: 'keepalive-user', roles: ['webpubsub.joinLeaveGroup'] }));
  const c = await connect(url, RELIABLE);
  const hello = await c.next((f) => f.event === 'connected');
  c.send({ type: 'joinGroup', group: 'fidelity-room', ackId: 1 });
  assert.equal((await c.next((f) => f.ackId === 1)).success, true);
  // The official client's keep-alive timeout closes its own socket with 4000; so does ours.
  c.ws.close(4000, 'keep-alive timeout');
  assert.equal((await c.closed).code, 4000);
  const detached = await waitFor(async () => { const s = await state(hello.connectionId); return s && !s.attached ? s : null; }, { timeout: 5000 });
  assert.ok(detached, 'the session is kept, detached, waiting for recovery');
  assert.deepEqual(detached.groups, ['fidelity-room']);
  // Published while the client is away: redelivered on recovery.
  assert.equal((await rest(stub, 'POST', '/api/hubs/chat/groups/fidelity-room/:send?api-version=2024-12-01', 'while away', { contentType: 'text/plain' })).status, 202);
  const r = await connect(recoveryUrl(url, hello.connectionId, hello.reconnectionToken), RELIABLE);
  const again = await r.next((f) => f.event === 'connected');
  assert.equal(again.connectionId, hello.connectionId);
  const m = await r.next((f) => f.type === 'message');
  assert.equal(m.data, 'while away');
  assert.equal(m.group, 'fidelity-room');
  r.ws.close(1000);
  await r.closed;
});

test('a client close with an empty close frame (no code) leaves the session recoverable; 1000 ends it', async () => {
  const url = clientUrl(clientToken(stub, { sub: 'closer' }));
  const c = await connect(url, RELIABLE);
  const hello = await c.next((f) => f.event === 'connected');
  c.ws.close();  // no status code: the server sees 1005, which is not a deliberate 1000
  await c.closed;
  const r = await connect(recoveryUrl(url, hello.connectionId, hello.reconnectionToken), RELIABLE);
  const again = await connectedOrClosed(r, 3000);
  assert.equal(again.connected?.connectionId, hello.connectionId, JSON.stringify(again));
  // Now the deliberate close: the session is gone.
  r.ws.close(1000, 'bye');
  await r.closed;
  assert.equal(await waitFor(async () => (await state(hello.connectionId)) === undefined, { timeout: 5000 }), true);
  const gone = await connect(recoveryUrl(url, hello.connectionId, again.connected.reconnectionToken), RELIABLE);
  const goneClose = await gone.closed;
  assert.equal(goneClose.code, 1008);
  assert.match(goneClose.reason, /Session not found/);
});

// ---- item 11: simple clients get binary data as binary frames -----------------------------------

test('a simple client receives binary messages as binary frames, text as text frames', async () => {
  const token = clientToken(stub, { sub: 'raw-user', 'webpubsub.group': ['raw-room'] });
  const raw = await rawConnect(clientUrl(token));
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);
  // REST send to the user, application/octet-stream.
  assert.equal((await rest(stub, 'POST', '/api/hubs/chat/users/raw-user/:send?api-version=2024-12-01', bytes, { contentType: 'application/octet-stream' })).status, 202);
  let f = await raw.next();
  assert.equal(f.isBinary, true, `a binary frame, got text ${JSON.stringify(f.data.toString())}`);
  assert.deepEqual(f.data, bytes);
  // A group message with dataType binary from a JSON client.
  const sender = await connect(clientUrl(clientToken(stub, { sub: 'raw-sender', roles: ['webpubsub.sendToGroup.raw-room'] })), JSON_V1);
  await sender.next((x) => x.event === 'connected');
  sender.send({ type: 'sendToGroup', group: 'raw-room', dataType: 'binary', data: Buffer.from([9, 8, 7]).toString('base64'), ackId: 1 });
  assert.equal((await sender.next((x) => x.ackId === 1)).success, true);
  f = await raw.next();
  assert.equal(f.isBinary, true);
  assert.deepEqual(f.data, Buffer.from([9, 8, 7]));
  // Text stays a text frame; json is its serialisation in a text frame.
  sender.send({ type: 'sendToGroup', group: 'raw-room', dataType: 'text', data: 'plain text', ackId: 2 });
  f = await raw.next();
  assert.equal(f.isBinary, false);
  assert.equal(f.data.toString(), 'plain text');
  sender.send({ type: 'sendToGroup', group: 'raw-room', dataType: 'json', data: { a: 1 }, ackId: 3 });
  f = await raw.next();
  assert.equal(f.isBinary, false);
  assert.deepEqual(JSON.parse(f.data.toString()), { a: 1 });
  sender.close();
  raw.ws.close(1000);
  await raw.closed;
});

// ---- item 12: 1007 for data that does not fit its dataType; events without a handler -----------

test('data that does not match its dataType closes with 1007; other malformed frames with 1008', async () => {
  const token = clientToken(stub, { sub: 'bad-data', roles: ['webpubsub.sendToGroup'] });
  const cases = [
    [{ type: 'sendToGroup', group: 'g', dataType: 'text', data: 42 }, 1007],
    [{ type: 'sendToGroup', group: 'g', dataType: 'binary', data: 'not base64!' }, 1007],
    [{ type: 'sendToGroup', group: 'g', dataType: 'json', data: null }, 1007],
    [{ type: 'event', event: 'e', dataType: 'protobuf', data: 'AAEC' }, 1007],
    [{ type: 'event', event: 'e', dataType: 'text', data: { not: 'a string' } }, 1007],
    [{ type: 'sendToGroup', dataType: 'text', data: 'no group' }, 1008],
    ['{not json', 1008],
  ];
  for (const [frame, code] of cases) {
    const c = await connect(clientUrl(token), RELIABLE);
    const hello = await c.next((f) => f.event === 'connected');
    c.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    const bye = await c.next((f) => f.type === 'system' && f.event === 'disconnected');
    assert.match(bye.message, /Invalid frame: /);
    const closed = await c.closed;
    assert.equal(closed.code, code, `${JSON.stringify(frame)}: ${JSON.stringify(closed)}`);
    assert.match(closed.reason, /Invalid frame: /);
    // Declined: the session is gone, not waiting for recovery.
    assert.equal(await state(hello.connectionId), undefined);
  }
});

test('an event with no upstream handler is acknowledged with an error, as Microsoft\'s emulator does; the connection stays', async () => {
  const c = await connect(clientUrl(clientToken(stub, { sub: 'eventer' })), JSON_V1);
  await c.next((f) => f.event === 'connected');
  c.send({ type: 'event', event: 'typing', dataType: 'json', data: { on: true }, ackId: 7 });
  const ack = await c.next((f) => f.type === 'ack' && f.ackId === 7);
  assert.equal(ack.success, false, JSON.stringify(ack));
  assert.equal(ack.error?.name, 'InternalServerError');
  assert.match(ack.error?.message, /No event handler/);
  // Not processed, so not a duplicate: the same ackId gets the same answer.
  c.send({ type: 'event', event: 'typing', dataType: 'json', data: { on: true }, ackId: 7 });
  assert.equal((await c.next((f) => f.type === 'ack' && f.ackId === 7)).error?.name, 'InternalServerError');
  // Fire-and-forget: no ack at all, and the connection is still open.
  c.send({ type: 'event', event: 'typing', dataType: 'text', data: 'x' });
  c.send({ type: 'ping' });
  assert.equal((await c.next((f) => f.type === 'pong' || f.type === 'ack')).type, 'pong');
  assert.equal(c.ws.readyState, WebSocket.OPEN);
  c.close();
});

test('a simple client\'s frame with no upstream handler closes it (the service drops such clients)', async () => {
  for (const payload of ['hello', Buffer.from([1, 2, 3])]) {
    const raw = await rawConnect(clientUrl(clientToken(stub, { sub: 'raw-talker' })));
    raw.ws.send(payload);
    let timer;
    const closed = await Promise.race([raw.closed, new Promise((r) => { timer = setTimeout(() => r(null), 3000); })]);
    clearTimeout(timer);
    if (!closed) raw.ws.terminate();
    assert.ok(closed, `${typeof payload === 'string' ? 'text' : 'binary'} frame: the connection was left open`);
    assert.equal(closed.code, 1011);
    assert.match(closed.reason, /No event handler/);
  }
});

// ---- item 13: recovery checks the subprotocol and needs its token --------------------------------

test('recovery needs the reliable subprotocol: another one is refused with 1008 and the session is kept', async () => {
  const url = clientUrl(clientToken(stub, { sub: 'proto-user' }));
  const c = await connect(url, RELIABLE);
  const hello = await c.next((f) => f.event === 'connected');
  assert.equal((await stubApi(stub, 'POST', '/_stub/drop?userId=proto-user')).status, 200);
  await c.closed;
  const again = recoveryUrl(url, hello.connectionId, hello.reconnectionToken);
  for (const protocol of [JSON_V1, null]) {
    const r = await tryConnect(again, protocol);
    assert.equal(r.status, 101);
    const first = await connectedOrClosed(r.c, 3000);
    assert.ok(!first.connected, `${protocol}: recovered without the reliable subprotocol`);
    assert.equal(first.closed?.code, 1008, `${protocol}: ${JSON.stringify(first)}`);
    assert.match(first.closed.reason, /json\.reliable\.webpubsub\.azure\.v1/);
  }
  // The refused attempts did not take the session: the right subprotocol still recovers it.
  const ok = await connect(again, RELIABLE);
  assert.equal((await ok.next((f) => f.event === 'connected')).connectionId, hello.connectionId);
  ok.ws.close(1000);
  await ok.closed;
});

test('a recovery URL without its reconnection token fails with 1008 and never becomes a new connection', async () => {
  const url = clientUrl(clientToken(stub, { sub: 'tokenless' }));
  const c = await connect(url, RELIABLE);
  const hello = await c.next((f) => f.event === 'connected');
  assert.equal((await stubApi(stub, 'POST', '/_stub/drop?userId=tokenless')).status, 200);
  await c.closed;
  // Whatever access token the URL carries (a valid one, none, an expired one), it is not what a
  // recovery is judged by: the answer is the failed recovery's 1008, never a new connection and
  // never the access-token path's 401.
  const bare = `ws://${stub.host}:${stub.port}/client/hubs/chat`;
  const expired = clientUrl(clientToken(stub, { sub: 'tokenless', ttl: -60 }));
  for (const [base, tokenParam] of [[url, undefined], [url, ''], [bare, undefined], [expired, undefined]]) {
    const what = `${base === url ? 'valid' : base === bare ? 'no' : 'expired'} access token, reconnection token ${JSON.stringify(tokenParam)}`;
    const r = await tryConnect(recoveryUrl(base, hello.connectionId, tokenParam), RELIABLE);
    assert.equal(r.status, 101, `${what}: the client spec's failed recovery is a 1008 close, got HTTP ${r.status}`);
    const first = await connectedOrClosed(r.c, 3000);
    assert.ok(!first.connected, `${what}: a connection was made: ${JSON.stringify(first.connected)}`);
    assert.equal(first.closed?.code, 1008, what);
  }
  const s = await stubApi(stub, 'GET', '/_stub/state');
  assert.equal(s.json.connections.filter((x) => x.userId === 'tokenless').length, 1, 'no second connection for the user');
  // The session itself is untouched and recovers with its token.
  const ok = await connect(recoveryUrl(url, hello.connectionId, hello.reconnectionToken), RELIABLE);
  assert.equal((await ok.next((f) => f.event === 'connected')).connectionId, hello.connectionId);
  ok.ws.close(1000);
  await ok.closed;
});
