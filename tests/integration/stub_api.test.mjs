// The stub's app backend and emulator over real HTTP and WebSocket.
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi, outboxDrained } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub({ args: ['--max-message-bytes', '100'] });
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });
// Each test starts once the outbox has published what earlier tests stored: otherwise, on a loaded
// machine, a late conversation.activity of an earlier test's conversation reaches the next test's
// socket before the message that test waits for.
beforeEach(async () => { if (stub) await outboxDrained(stub); });

const accessUrl = async (token, groupName) => api(stub.base, token, 'POST', '/realtime/clientAccessUrl', { hubName: 'chat', groupName });

test('every endpoint needs a valid bearer token', async () => {
  for (const [m, p] of [['GET', '/chat/conversations'], ['POST', '/chat/reply'], ['GET', '/conversation/detail?conversationId=demo'], ['POST', '/realtime/clientAccessUrl']]) {
    const r = await fetch(stub.base + p, { method: m });
    assert.equal(r.status, 401, `${m} ${p}`);
    assert.equal((await r.json()).error.code, 'Unauthorized');
  }
  const bad = await api(stub.base, alice + 'x', 'GET', '/chat/conversations');
  assert.equal(bad.status, 401);
  assert.match(bad.json.error.message, /invalid token signature/);
  const unknown = await fetch(`${stub.base}/auth/dev-login`, { method: 'POST', body: '{"userId":"mallory"}' });
  assert.equal(unknown.status, 401);
  const malformed = await fetch(`${stub.base}/auth/dev-login`, { method: 'POST', body: '{nope' });
  assert.equal(malformed.status, 400);
});

test('client access URLs grant only groups the user may use', async () => {
  const ok = await accessUrl(alice, 'conversation:demo');
  assert.equal(ok.status, 200);
  assert.match(ok.json.url, /^ws:\/\/127\.0\.0\.1:\d+\/client\/hubs\/chat\?access_token=/);
  const claims = JSON.parse(Buffer.from(ok.json.url.split('access_token=')[1].split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'alice');
  // Join the conversation (and its typing group); send only to the typing group: chat messages
  // reach the conversation group through the backend, never from a client.
  assert.ok(claims.role.includes('webpubsub.joinLeaveGroup.conversation:demo'), claims.role);
  assert.ok(!claims.role.includes('webpubsub.sendToGroup.conversation:demo'), claims.role);
  assert.ok(claims.role.every((r) => r.endsWith('conversation:demo') || r.endsWith('conversation:demo:typing')), claims.role);
  assert.ok(claims.exp - claims.iat <= 600, 'short-lived');

  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Private', members: ['bob'] });
  assert.equal(created.status, 201);
  const cid = created.json.conversation.conversationId;
  const denied = await accessUrl(carol, `conversation:${cid}`);
  assert.equal(denied.status, 403);
  assert.match(denied.json.error.message, /not a member/);
  assert.equal((await accessUrl(alice, 'notifications:user:bob')).status, 403);
  assert.equal((await accessUrl(alice, 'notifications:user:alice')).status, 200);
  assert.equal((await accessUrl(alice, 'notifications:team:core')).status, 200);
  assert.equal((await accessUrl(carol, 'notifications:team:core')).status, 403);
  const global = await accessUrl(carol, 'notifications:global');
  assert.equal(global.status, 200);
  const gclaims = JSON.parse(Buffer.from(global.json.url.split('access_token=')[1].split('.')[1], 'base64url'));
  assert.deepEqual(gclaims.role, ['webpubsub.joinLeaveGroup.notifications:global'], 'global is read-only');
  const unknownGroup = await accessUrl(alice, 'admins');
  assert.equal(unknownGroup.status, 403);
  assert.match(unknownGroup.json.error.message, /Unknown group/);
  assert.equal((await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', '{bad json')).status, 400);
});

test('replies are validated, bounded and idempotent on clientMessageId', async () => {
  const send = (token, body) => api(stub.base, token, 'POST', '/chat/reply', body);
  assert.equal((await send(alice, '{oops')).status, 400);
  assert.equal((await send(alice, { conversationId: 'demo' })).status, 400);
  const big = await send(alice, { conversationId: 'demo', message: 'x'.repeat(101), clientMessageId: 'big' });
  assert.equal(big.status, 413);
  assert.match(big.json.error.message, /limit is 100/);
  assert.equal((await send(alice, { conversationId: 'nope', message: 'hi' })).status, 404);
  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'AB', members: ['bob'] });
  assert.equal((await send(carol, { conversationId: created.json.conversation.conversationId, message: 'hi' })).status, 403);

  const first = await send(alice, { conversationId: 'demo', message: 'once', clientMessageId: 'cm-idem' });
  assert.equal(first.status, 201);
  const again = await send(alice, { conversationId: 'demo', message: 'once', clientMessageId: 'cm-idem' });
  assert.equal(again.status, 200);
  assert.equal(again.json.duplicate, true);
  assert.equal(again.json.message.messageId, first.json.message.messageId);
  assert.equal(again.json.message.seq, first.json.message.seq);
});

test('history: latest page, afterSeq increments and beforeSeq pages back', async () => {
  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Paging', members: ['bob'] });
  const cid = created.json.conversation.conversationId;
  for (let i = 1; i <= 7; i++) {
    const r = await api(stub.base, i % 2 ? alice : bob, 'POST', '/chat/reply', { conversationId: cid, message: `m${i}`, clientMessageId: `p${i}` });
    assert.equal(r.json.message.seq, i);
  }
  const detail = (q) => api(stub.base, bob, 'GET', `/conversation/detail?conversationId=${cid}${q}`);
  const latest = await detail('&limit=3');
  assert.deepEqual(latest.json.messages.map((m) => m.seq), [5, 6, 7]);
  assert.equal(latest.json.hasMore, true);
  const older = await detail('&beforeSeq=5&limit=3');
  assert.deepEqual(older.json.messages.map((m) => m.seq), [2, 3, 4]);
  // Members' state comes with the latest page and catch-up answers, not with older pages.
  assert.deepEqual([latest.json.reads === undefined, latest.json.presence === undefined], [false, false]);
  assert.deepEqual([older.json.reads, older.json.presence], [undefined, undefined]);
  const after = await detail('&afterSeq=5');
  assert.deepEqual(after.json.messages.map((m) => m.seq), [6, 7]);
  assert.equal(typeof after.json.reads, 'object');
  assert.equal(typeof after.json.presence, 'object');
  assert.equal((await detail('&afterSeq=-1')).status, 400);
  // Read state and unread counts.
  const list = await api(stub.base, bob, 'GET', '/chat/conversations');
  const conv = list.json.conversations.find((c) => c.conversationId === cid);
  assert.equal(conv.unread, 4);  // alice's m1 m3 m5 m7
  assert.equal((await api(stub.base, bob, 'POST', '/chat/read', { conversationId: cid, seq: 99 })).json.lastReadSeq, 7);
  const list2 = await api(stub.base, bob, 'GET', '/chat/conversations');
  assert.equal(list2.json.conversations.find((c) => c.conversationId === cid).unread, 0);
});

test('a stored message reaches group members over WebSocket through the outbox', async () => {
  const url = (await accessUrl(bob, 'conversation:demo')).json.url;
  const c = await connect(url);
  const connected = await c.next((f) => f.type === 'system' && f.event === 'connected');
  assert.equal(connected.userId, 'bob');
  assert.equal(connected.reconnectionToken, undefined, 'json protocol has no reconnection token');
  c.send({ type: 'joinGroup', group: 'conversation:demo', ackId: 1 });
  assert.deepEqual(await c.next((f) => f.type === 'ack'), { type: 'ack', ackId: 1, success: true });
  const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'live!', clientMessageId: 'ws-1' });
  const msg = await c.next((f) => f.type === 'message');
  assert.equal(msg.from, 'group');
  assert.equal(msg.group, 'conversation:demo');
  assert.equal(msg.dataType, 'json');
  assert.equal(msg.data.type, 'chat.message');
  assert.equal(msg.data.message.messageId, sent.json.message.messageId);
  assert.equal(msg.data.message.text, 'live!');
  c.close();
});

test('emulator: roles, Forbidden, Duplicate, noEcho, ping', async () => {
  const c = await connect((await accessUrl(bob, 'conversation:demo')).json.url);
  await c.next((f) => f.event === 'connected');
  c.send({ type: 'joinGroup', group: 'other', ackId: 1 });
  const forbidden = await c.next((f) => f.type === 'ack' && f.ackId === 1);
  assert.equal(forbidden.success, false);
  assert.equal(forbidden.error.name, 'Forbidden');
  // A refused request was not processed: retrying the same ackId is refused again, not "Duplicate".
  c.send({ type: 'joinGroup', group: 'other', ackId: 1 });
  assert.equal((await c.next((f) => f.type === 'ack' && f.ackId === 1)).error.name, 'Forbidden');
  c.send({ type: 'joinGroup', group: 'conversation:demo:typing', ackId: 2 });
  assert.equal((await c.next((f) => f.ackId === 2)).success, true);
  c.send({ type: 'joinGroup', group: 'conversation:demo:typing', ackId: 2 });
  const dup = await c.next((f) => f.ackId === 2);
  assert.equal(dup.error.name, 'Duplicate');
  c.send({ type: 'sendToGroup', group: 'conversation:demo:typing', ackId: 3, noEcho: true, dataType: 'text', data: 'typing' });
  assert.equal((await c.next((f) => f.ackId === 3)).success, true);
  c.send({ type: 'sendToGroup', group: 'conversation:demo:typing', ackId: 4, dataType: 'text', data: 'echo' });
  const echo = await c.next((f) => f.type === 'message');
  assert.equal(echo.data, 'echo');
  assert.equal(echo.fromUserId, 'bob');
  assert.equal(c.frames.filter((f) => f.data === 'typing').length, 0, 'noEcho');
  c.send({ type: 'ping' });
  await c.next((f) => f.type === 'pong');
  c.close();
});

test('emulator: malformed frames and bad tokens are refused with a reason', async () => {
  await assert.rejects(connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=bad.token.here`),
    (e) => e.status === 401 && /Invalid access token/.test(e.body));
  await assert.rejects(connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat`), (e) => e.status === 401);
  const c = await connect((await accessUrl(bob, 'conversation:demo')).json.url);
  await c.next((f) => f.event === 'connected');
  c.ws.send('{not json');
  const bye = await c.next((f) => f.type === 'system' && f.event === 'disconnected');
  assert.match(bye.message, /Invalid frame: malformed JSON/);
  const closed = await c.closed;
  assert.equal(closed.code, 1008);
});

test('reliable protocol: sequence ids, recovery after a drop redelivers what was not acked', async () => {
  const c = await connect((await accessUrl(bob, 'conversation:demo')).json.url, 'json.reliable.webpubsub.azure.v1');
  const hello = await c.next((f) => f.event === 'connected');
  assert.ok(hello.reconnectionToken);
  c.send({ type: 'joinGroup', group: 'conversation:demo', ackId: 1 });
  await c.next((f) => f.ackId === 1);
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'r1', clientMessageId: 'rel-1' });
  const m1 = await c.next((f) => f.type === 'message');
  // Sequence ids count every message of the session, bob's own presence event (set aside) included
  // when it was published first (it may also come right after r1: then it is not counted here).
  assert.equal(m1.sequenceId, 1 + c.presence.filter((p) => p.sequenceId < m1.sequenceId).length);
  // Drop bob's socket the way a network failure would, then publish while he is away.
  assert.equal((await stubApi(stub, 'POST', '/_stub/drop?userId=bob')).status, 200);
  await c.closed;
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'r2', clientMessageId: 'rel-2' });
  const url = new URL((await accessUrl(bob, 'conversation:demo')).json.url);
  url.searchParams.set('awps_connection_id', hello.connectionId);
  url.searchParams.set('awps_reconnection_token', hello.reconnectionToken);
  url.searchParams.set('access_token', 'stale-token-is-ignored');
  const r = await connect(url.toString(), 'json.reliable.webpubsub.azure.v1');
  const again = await r.next((f) => f.event === 'connected');
  assert.equal(again.connectionId, hello.connectionId);
  const texts = [];
  for (;;) {
    const f = await r.next((x) => x.type === 'message');
    texts.push([f.sequenceId, f.data.message.text]);
    if (f.data.message.text === 'r2') break;
  }
  // No conversation.activity here: a connection in the conversation's group gets the message itself.
  const last = texts.at(-1)[0];
  assert.deepEqual(texts, [[m1.sequenceId, 'r1'], [last, 'r2']], 'unacked r1 is redelivered, r2 was queued');
  assert.ok(last > m1.sequenceId);
  r.send({ type: 'sequenceAck', sequenceId: last });
  r.ws.close(1000);
  await r.closed;
  // A close by the client with code 1000 ends the session: it cannot be recovered afterwards
  // (other close codes keep it recoverable: emulator_fidelity.test.mjs).
  url.searchParams.set('awps_reconnection_token', again.reconnectionToken);
  const gone = await connect(url.toString(), 'json.reliable.webpubsub.azure.v1');
  const goneClose = await gone.closed;
  assert.equal(goneClose.code, 1008);
  assert.match(goneClose.reason, /Session not found/);
  // A wrong token cannot take over a session.
  url.searchParams.set('awps_reconnection_token', 'wrong');
  const bad = await connect(url.toString(), 'json.reliable.webpubsub.azure.v1');
  assert.equal((await bad.closed).code, 1008);
});

test('REST :generateToken issues a client token the emulator accepts', async () => {
  const { createHmac } = await import('node:crypto');
  const { ACCESS_KEY } = await import('../lib/stub.mjs');
  const path = '/api/hubs/chat/:generateToken?userId=rest-user&role=webpubsub.joinLeaveGroup&group=g1&minutesToExpire=5&api-version=2024-12-01';
  const sign = (claims) => {
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${h}.${p}.${createHmac('sha256', ACCESS_KEY).update(`${h}.${p}`).digest('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const auth = { Authorization: `Bearer ${sign({ aud: `${stub.base}${path}`, exp: now + 300, iat: now })}` };
  const r = await fetch(stub.base + path, { method: 'POST', headers: auth });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'rest-user');
  assert.deepEqual(claims.role, ['webpubsub.joinLeaveGroup']);
  assert.deepEqual(claims['webpubsub.group'], ['g1']);
  assert.ok(claims.exp - now <= 300 + 5);
  const c = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${token}`);
  const hello = await c.next((f) => f.event === 'connected');
  assert.equal(hello.userId, 'rest-user');
  c.close();
  // Wrong audience and expired tokens are refused with a reason.
  const wrongAud = await fetch(stub.base + path, { method: 'POST', headers: { Authorization: `Bearer ${sign({ aud: 'http://elsewhere/api', exp: now + 300 })}` } });
  assert.equal(wrongAud.status, 401);
  assert.match((await wrongAud.json()).error.message, /audience/);
  const expired = await fetch(stub.base + path, { method: 'POST', headers: { Authorization: `Bearer ${sign({ aud: `${stub.base}${path}`, exp: now - 10 })}` } });
  assert.equal(expired.status, 401);
  assert.match((await expired.json()).error.message, /expired/);
});

test('wildcard group roles: ? and * stop at dots, ** does not', async () => {
  const { createHmac } = await import('node:crypto');
  const { ACCESS_KEY } = await import('../lib/stub.mjs');
  const sign = (claims) => {
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${h}.${p}.${createHmac('sha256', ACCESS_KEY).update(`${h}.${p}`).digest('base64url')}`;
  };
  const token = sign({ aud: `${stub.base}/client/hubs/chat`, exp: Math.floor(Date.now() / 1000) + 300, sub: 'wild',
    role: ['webpubsub.joinLeaveGroups.room.*', 'webpubsub.joinLeaveGroups.deep.**', 'webpubsub.sendToGroups.r?'] });
  const c = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${token}`);
  await c.next((f) => f.event === 'connected');
  const cases = [['joinGroup', 'room.a', true], ['joinGroup', 'room.a.b', false], ['joinGroup', 'other', false],
    ['joinGroup', 'deep.a.b.c', true], ['sendToGroup', 'r1', true], ['sendToGroup', 'r12', false], ['sendToGroup', 'room.a', false]];
  let id = 100;
  for (const [type, group, ok] of cases) {
    const frame = { type, group, ackId: ++id };
    if (type === 'sendToGroup') Object.assign(frame, { dataType: 'text', data: 'x' });
    c.send(frame);
    const ack = await c.next((f) => f.type === 'ack' && f.ackId === id);
    assert.equal(ack.success, ok, `${type} ${group}`);
    if (!ok) assert.equal(ack.error.name, 'Forbidden');
  }
  c.close();
});

test('bytes that are not UTF-8 in paths are answered, never crash the server', async () => {
  const r = await fetch(`${stub.base}/%FF%FE/x`);
  assert.equal(r.status, 404);
  const g = await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:\udcff' });
  assert.ok(g.status === 400 || g.status === 403);
  const health = await fetch(`${stub.base}/healthz`);
  assert.equal(health.status, 200, 'still serving');
});
