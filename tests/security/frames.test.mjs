// Hostile WebSocket frames: whatever a signed-in member sends, the server answers that socket (an
// ack error or a close with a reason of at most 123 bytes) and keeps serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, rest, healthy } from '../lib/stub.mjs';
import { connect, joinAs, tryConnect } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
before(async () => {
  stub = await startStub({ args: ['--quiet'] });
  [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

async function plain(token, protocol = 'json.webpubsub.azure.v1') {
  const r = await api(stub.base, token, 'POST', '/realtime/clientAccessUrl', { groups: [] });
  const c = await connect(r.json.url, protocol);
  await c.next((f) => f.event === 'connected');
  return c;
}

test('frames whose error text would make a close reason past 123 bytes close that socket only; the server lives', async () => {
  // Beast refuses close reasons over 123 bytes by throwing: an unknown 200-character frame type
  // (echoed in the reason) used to end the process.
  const listener = await joinAs(stub.base, bob, 'conversation:demo:typing', 'json.webpubsub.azure.v1');
  const long = 'x'.repeat(200);
  const multibyte = 'é'.repeat(100);  // the cut must not split a UTF-8 sequence
  for (const frame of [{ type: long }, { type: multibyte }, { type: 'sendToGroup', group: 'g', dataType: long, data: 1 },
    { type: 'event', event: long, dataType: 'protobuf', data: 'AAEC' }, { type: 'joinGroup', group: long.repeat(10) }]) {
    for (const protocol of ['json.webpubsub.azure.v1', 'json.reliable.webpubsub.azure.v1']) {
      const c = await plain(alice, protocol);
      c.send(frame);
      const outcome = await Promise.race([c.closed, c.next((f) => f.type === 'ack' || f.type === 'system', 5000).then((f) => ({ frame: f }), () => ({}))]);
      if (outcome.code !== undefined) {
        assert.ok([1007, 1008, 1011].includes(outcome.code), `close code ${outcome.code}`);
        assert.ok(Buffer.byteLength(outcome.reason) <= 123, 'the reason fits a close frame');
        assert.ok(Buffer.from(outcome.reason).toString('utf8') === outcome.reason, 'the reason is whole UTF-8');
      }
      c.ws.terminate();
      assert.ok(await healthy(stub), `alive after ${JSON.stringify(frame).slice(0, 60)} (${protocol})`);
    }
  }
  // Others are still served live.
  const sender = await joinAs(stub.base, alice, 'conversation:demo:typing', 'json.webpubsub.azure.v1');
  sender.send({ type: 'sendToGroup', group: 'conversation:demo:typing', dataType: 'json', data: { type: 'typing' }, ackId: 2 });
  const got = await listener.next((f) => f.type === 'message' && f.group === 'conversation:demo:typing', 10000);
  assert.equal(got.fromUserId, 'alice');
  sender.close();
  listener.close();
});

test('REST and tester close reasons of any length are cut, never fatal', async () => {
  const c = await plain(bob);
  const reason = encodeURIComponent('why '.repeat(100));
  const r = await rest(stub, 'POST', `/api/hubs/chat/users/bob/:closeConnections?reason=${reason}`);
  assert.equal(r.status, 204);
  const closed = await c.closed;
  assert.ok(Buffer.byteLength(closed.reason) <= 123);
  assert.ok(await healthy(stub));
});

test('one user holds at most 32 sessions, recoverable (detached) ones included: the next upgrade is a 429', { timeout: 120000 }, async () => {
  // Detached reliable sessions used to escape every limit: 100 of them took the server to 786 MB.
  const local = await startStub({ args: ['--quiet'] });
  try {
    const carol = await login(local.base, 'carol');
    const url = async () => (await api(local.base, carol, 'POST', '/realtime/clientAccessUrl', { groups: [] })).json.url;
    for (let i = 0; i < 32; i++) {
      const c = await connect(await url(), 'json.reliable.webpubsub.azure.v1');
      await c.next((f) => f.event === 'connected');
      c.ws.terminate();  // dropped without a close frame: the session stays, detached
    }
    const refused = await tryConnect(await url(), 'json.reliable.webpubsub.azure.v1');
    assert.equal(refused.status, 429, `33rd session: ${refused.status}`);
    assert.match(refused.body, /Too many connections for this user/);
    // Another user is not affected.
    const other = await tryConnect((await api(local.base, await login(local.base, 'bob'), 'POST', '/realtime/clientAccessUrl', { groups: [] })).json.url);
    assert.equal(other.status, 101);
    other.c.close();
  } finally { await local.stop(); }
});

test('a member flooding the typing group is throttled; the other members stay connected', { timeout: 120000 }, async () => {
  // 20 frames of 1 MB to a group used to fill a member's 16 MiB unacked window faster than it
  // acknowledges (1 s): it was dropped with 1008 and could not recover.
  const bobSock = await joinAs(stub.base, bob, 'conversation:demo:typing', 'json.reliable.webpubsub.azure.v1');
  let bobClosed = null;
  bobSock.closed.then((c) => { bobClosed = c; });
  let seq = 0;
  bobSock.ws.on('message', (d) => { const f = JSON.parse(String(d)); if (f.sequenceId) seq = f.sequenceId; });
  const ackTimer = setInterval(() => { if (seq) bobSock.send({ type: 'sequenceAck', sequenceId: seq }); }, 1000);
  const flood = await joinAs(stub.base, alice, 'conversation:demo:typing', 'json.webpubsub.azure.v1');
  const text = 'x'.repeat(1000 * 1000 - 200);
  const results = [];
  for (let i = 0; i < 20; i++) {
    flood.send({ type: 'sendToGroup', group: 'conversation:demo:typing', dataType: 'text', data: text, ackId: 100 + i, noEcho: true });
    const a = await flood.next((f) => f.ackId === 100 + i, 20000);
    results.push(a.success ? 'ok' : a.error.name);
  }
  clearInterval(ackTimer);
  assert.ok(results.filter((r) => r === 'ok').length <= 3, `accepted: ${results.join(',')}`);
  assert.ok(results.includes('Throttled'), results.join(','));
  assert.equal(bobClosed, null, 'bob was not disconnected');
  // Small typing signals still pass after a pause.
  await new Promise((r) => setTimeout(r, 500));
  flood.send({ type: 'sendToGroup', group: 'conversation:demo:typing', dataType: 'json', data: { type: 'typing' }, ackId: 999 });
  assert.equal((await flood.next((f) => f.ackId === 999, 10000)).success, true);
  flood.close();
  bobSock.close();
});
