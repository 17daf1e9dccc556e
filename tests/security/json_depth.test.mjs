// Deeply nested JSON (100,000 levels) in WebSocket frames, app API bodies and REST sends: refused
// (64 levels is the limit everywhere), the server stays up and keeps delivering to others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, rest, stubApi, healthy, clientToken } from '../lib/stub.mjs';
import { connect, joinAs, tryConnect } from '../lib/ws.mjs';
import { nestedArrays } from '../lib/files.mjs';

const DEEP = 100000;
const deepArrays = nestedArrays(DEEP);
const deepObjects = '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP);

// Runs `fn(stub)` against a fresh stub (an unfixed server may crash), then checks it still serves
// and still delivers a chat message to bob.
async function withStub(fn, args = []) {
  const stub = await startStub({ args });
  try {
    await fn(stub);
    assert.ok(await healthy(stub), 'the server is still up');
    const [alice, bob] = await Promise.all([login(stub.base, 'alice'), login(stub.base, 'bob')]);
    const c = await joinAs(stub.base, bob, 'conversation:demo');
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'after the attack', clientMessageId: `after-${Date.now()}` });
    assert.equal(sent.status, 201);
    assert.equal((await c.next((f) => f.type === 'message', 15000)).data.message.text, 'after the attack');
    c.close();
  } finally { await stub.stop(); }
}

// The attacker's frame is refused: the connection is closed with 1007/1008 and a reason, or the
// frame is acknowledged with an error.
async function expectRefusedFrame(c, ackId) {
  const outcome = await Promise.race([
    c.closed.then((closed) => ({ closed })),
    c.next((f) => f.type === 'ack' && f.ackId === ackId, 30000).then((ack) => ({ ack }), () => ({ timedOut: true })),
  ]);
  if (outcome.closed) {
    assert.ok([1007, 1008].includes(outcome.closed.code), `close code ${outcome.closed.code}`);
    assert.ok(outcome.closed.reason.length > 0, 'the close carries a reason');
  } else {
    assert.ok(outcome.ack, `neither a close nor an ack: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.ack.success, false, `accepted: ${JSON.stringify(outcome.ack)}`);
  }
}

for (const protocol of ['json.webpubsub.azure.v1', 'json.reliable.webpubsub.azure.v1']) {
  test(`${protocol}: an event frame whose data nests 100,000 arrays is refused`, () => withStub(async (stub) => {
    const alice = await login(stub.base, 'alice');
    const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
    const c = await connect(url, protocol);
    await c.next((f) => f.event === 'connected');
    c.ws.send(`{"type":"event","event":"deep","dataType":"json","data":${deepArrays},"ackId":1}`);
    await expectRefusedFrame(c, 1);
    c.close();
  }));
}

test('sendToGroup with 100,000 nested objects or arrays is refused and never reaches the group', () => withStub(async (stub) => {
  // Key-signed client tokens with explicit roles on a plain group: only the nesting is at stake.
  const victim = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${clientToken(stub, { sub: 'bob', roles: ['webpubsub.joinLeaveGroup.room'] })}`);
  await victim.next((f) => f.event === 'connected');
  victim.send({ type: 'joinGroup', group: 'room', ackId: 1 });
  assert.equal((await victim.next((f) => f.ackId === 1)).success, true);
  for (const [ackId, data] of [[1, deepObjects], [2, deepArrays]]) {
    const c = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${clientToken(stub, { sub: 'mallory', roles: ['webpubsub.sendToGroup.room'] })}`);
    await c.next((f) => f.event === 'connected');
    c.ws.send(`{"type":"sendToGroup","group":"room","dataType":"json","data":${data},"ackId":${ackId}}`);
    await expectRefusedFrame(c, ackId);
    c.close();
  }
  // A sentinel from a legitimate sender arrives first: nothing deep was delivered before it.
  const s = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${clientToken(stub, { sub: 'carol', roles: ['webpubsub.sendToGroup.room'] })}`);
  await s.next((f) => f.event === 'connected');
  s.send({ type: 'sendToGroup', group: 'room', dataType: 'text', data: 'sentinel', ackId: 9 });
  assert.equal((await s.next((f) => f.ackId === 9)).success, true);
  const first = await victim.next((f) => f.type === 'message', 15000);
  assert.equal(first.data, 'sentinel', 'the group received nothing before the sentinel');
  s.close();
  victim.close();
}));

test('app API bodies nested 100,000 deep answer 400 (conversation context and every JSON route)', () => withStub(async (stub) => {
  const alice = await login(stub.base, 'alice');
  const ctx = await api(stub.base, alice, 'POST', '/chat/conversations', `{"title":"deep","members":["bob"],"context":${deepObjects}}`);
  assert.equal(ctx.status, 400, `context: ${ctx.status} ${ctx.text.slice(0, 200)}`);
  const ctx2 = await api(stub.base, alice, 'POST', '/chat/conversations', `{"title":"deep","members":["bob"],"context":{"x":${deepArrays}}}`);
  assert.equal(ctx2.status, 400, `context: ${ctx2.status}`);
  const routes = ['/auth/dev-login', '/realtime/clientAccessUrl', '/chat/conversations', '/chat/reply', '/chat/read', '/notifications',
    '/notifications/read', '/notifications/seen', '/notifications/archive'];
  for (const p of routes) {
    for (const body of [`{"x":${deepArrays}}`, deepObjects, deepArrays, `{"userId":"alice","conversationId":"demo","message":"m","x":${deepObjects}}`]) {
      const r = await api(stub.base, alice, 'POST', p, body);
      assert.equal(r.status, 400, `POST ${p} (${body.slice(0, 20)}...): ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  const s = await stubApi(stub, 'POST', '/_stub/notifications', `{"title":"t","target":{"kind":"global"},"x":${deepArrays}}`);
  assert.ok(s.status === 400, `/_stub/notifications: ${s.status}`);
}));

test('REST sends nested 100,000 deep answer 400', () => withStub(async (stub) => {
  for (const p of ['/api/hubs/chat/:send', '/api/hubs/chat/groups/conversation%3Ademo/:send', '/api/hubs/chat/users/bob/:send',
    '/api/hubs/chat/connections/nobody/:send']) {
    for (const body of [deepArrays, deepObjects, `{"x":${deepArrays}}`]) {
      const r = await rest(stub, 'POST', p, body);
      assert.equal(r.status, 400, `POST ${p}: ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
}));

test('the limit is 64 levels: 60 nested levels are delivered through REST, 70 are refused', () => withStub(async (stub) => {
  const bob = await login(stub.base, 'bob');
  const c = await joinAs(stub.base, bob, 'conversation:demo');
  const ok = await rest(stub, 'POST', '/api/hubs/chat/groups/conversation%3Ademo/:send', nestedArrays(60, '"deep-60"'));
  assert.equal(ok.status, 202, ok.text);
  const m = await c.next((f) => f.type === 'message', 15000);
  assert.equal(JSON.stringify(m.data), nestedArrays(60, '"deep-60"'));
  const objects60 = '{"a":'.repeat(60) + '"deep"' + '}'.repeat(60);
  assert.equal((await rest(stub, 'POST', '/api/hubs/chat/groups/conversation%3Ademo/:send', objects60)).status, 202);
  await c.next((f) => f.type === 'message', 15000);
  const tooDeep = await rest(stub, 'POST', '/api/hubs/chat/groups/conversation%3Ademo/:send', nestedArrays(70));
  assert.equal(tooDeep.status, 400, tooDeep.text);
  assert.equal(typeof tooDeep.json?.error?.message, 'string');
  const objects70 = '{"a":'.repeat(70) + '1' + '}'.repeat(70);
  assert.equal((await rest(stub, 'POST', '/api/hubs/chat/groups/conversation%3Ademo/:send', objects70)).status, 400);
  // A WebSocket frame with data 60 deep is fine too; 70 deep is refused.
  const alice = await login(stub.base, 'alice');
  const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
  const w = await connect(url);
  await w.next((f) => f.event === 'connected');
  w.ws.send(`{"type":"event","event":"e","dataType":"json","data":${nestedArrays(60)},"ackId":1}`);
  const first = await Promise.race([w.closed.then((x) => ({ closed: x })), w.next((f) => f.type === 'ack' && f.ackId === 1, 15000).then((a) => ({ ack: a }))]);
  assert.ok(first.ack, `60 levels in a frame: ${JSON.stringify(first)}`);
  w.ws.send(`{"type":"event","event":"e","dataType":"json","data":${nestedArrays(70)},"ackId":2}`);
  await expectRefusedFrame(w, 2);
  w.close();
  c.close();
}));

test('a JWT header nested 3,000 deep is refused with 401 (WebSocket, REST, session)', () => withStub(async (stub) => {
  const b = (x) => Buffer.from(x).toString('base64url');
  const t = `${b(nestedArrays(3000))}.${b('{"sub":"x"}')}.AAAA`;
  const ws = await tryConnect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${t}`);
  if (ws.c) ws.c.close();
  assert.equal(ws.status, 401);
  assert.equal((await rest(stub, 'GET', '/api/hubs/chat/groups/g/connections', undefined, { token: t })).status, 401);
  assert.equal((await api(stub.base, t, 'GET', '/me')).status, 401);
}));
