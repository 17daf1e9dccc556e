// POST /chat/subscribe and conversation.activity, tried as an attacker would: another user's
// connection, a conversation one is not in, hostile field types; activity reaches members only;
// the typing right follows the subscription.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi, outboxDrained } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
let carol;
let secret;  // alice and bob only
let other;   // alice and bob only
before(async () => {
  stub = await startStub();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
  secret = (await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Secret', members: ['bob'] })).json.conversation.conversationId;
  other = (await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Other', members: ['bob'] })).json.conversation.conversationId;
  await outboxDrained(stub);  // their conversation.created events are out before any test connects
});
after(async () => { await stub?.stop(); });

// A connection with no conversation group granted (what the web client opens).
async function open(token) {
  const r = await api(stub.base, token, 'POST', '/realtime/clientAccessUrl', { groups: [] });
  assert.equal(r.status, 200, r.text);
  const c = await connect(r.json.url);
  c.id = (await c.next((f) => f.event === 'connected')).connectionId;
  return c;
}

const groupsOf = async (connectionId) =>
  (await stubApi(stub, 'GET', '/_stub/state')).json.connections.find((c) => c.connectionId === connectionId)?.groups ?? [];

test("another user's connection cannot be subscribed: 404, and it joins nothing", async () => {
  const b = await open(bob);
  try {
    const r = await api(stub.base, alice, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: secret });
    assert.equal(r.status, 404);
    assert.match(r.json.error.message, /not one of your connections/);
    assert.deepEqual(await groupsOf(b.id), []);
    // Nor can she make it leave the group it is in.
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: secret })).status, 200);
    assert.equal((await api(stub.base, alice, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: null, previousConversationId: secret })).status, 404);
    assert.ok((await groupsOf(b.id)).includes(`conversation:${secret}`));
  } finally { b.close(); }
});

test('a conversation one is not in cannot be subscribed; nor can one that does not exist', async () => {
  const c = await open(carol);
  try {
    const r = await api(stub.base, carol, 'POST', '/chat/subscribe', { connectionId: c.id, conversationId: secret });
    assert.equal(r.status, 403);
    assert.equal((await api(stub.base, carol, 'POST', '/chat/subscribe', { connectionId: c.id, conversationId: 'no-such-room' })).status, 404);
    assert.deepEqual(await groupsOf(c.id), []);
    await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: secret, message: 'for bob only', clientMessageId: 'sec-1' });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.frames.filter((f) => f.type === 'message').length, 0, `carol got nothing: ${JSON.stringify(c.frames)}`);
  } finally { c.close(); }
});

test('conversation.activity reaches every connection of the members, and nobody else', async () => {
  const [a, b, c] = await Promise.all([open(alice), open(bob), open(carol)]);
  try {
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: secret, message: 'x'.repeat(300), clientMessageId: 'act-1' });
    for (const conn of [a, b]) {
      const f = await conn.next((x) => x.type === 'message' && x.from === 'server' && x.data.messageId === sent.json.message.messageId);
      assert.equal(f.data.type, 'conversation.activity');
      assert.equal(f.data.conversationId, secret);
      assert.equal(f.data.seq, sent.json.message.seq);
      assert.ok(Buffer.byteLength(f.data.preview) <= 140, 'the preview is small');
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.frames.filter((f) => f.type === 'message').length, 0);
    // Subscribed to the conversation: the message itself, and no activity besides (one frame).
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: secret })).status, 200);
    const again = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: secret, message: 'open', clientMessageId: 'act-2' });
    const m = await b.next((x) => x.type === 'message' && x.from === 'group');
    assert.equal(m.data.message.messageId, again.json.message.messageId);
    await a.next((x) => x.type === 'message' && x.from === 'server' && x.data.messageId === again.json.message.messageId);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.frames.filter((f) => f.type === 'message').length, 0, `only the group message: ${JSON.stringify(b.frames)}`);
  } finally { a.close(); b.close(); c.close(); }
});

test('the right to send typing signals follows the subscription', async () => {
  const b = await open(bob);
  try {
    let ack = 0;
    const typing = async (conv) => {
      const id = ++ack;
      b.send({ type: 'sendToGroup', group: `conversation:${conv}:typing`, dataType: 'json', data: { type: 'typing' }, ackId: id });
      return b.next((f) => f.type === 'ack' && f.ackId === id);
    };
    assert.equal((await typing(secret)).success, false, 'not before subscribing');
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: secret })).status, 200);
    assert.equal((await typing(secret)).success, true);
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: other, previousConversationId: secret })).status, 200);
    const refused = await typing(secret);
    assert.equal(refused.success, false, 'revoked when the subscription moved');
    assert.equal(refused.error.name, 'Forbidden');
    assert.equal((await typing(other)).success, true);
    const groups = await groupsOf(b.id);
    assert.ok(groups.includes(`conversation:${other}`) && !groups.includes(`conversation:${secret}`), groups.join(','));
    // The stored-message group stays backend-only, subscribed or not.
    b.send({ type: 'sendToGroup', group: `conversation:${other}`, dataType: 'json', data: { type: 'chat.message' }, ackId: 99 });
    assert.equal((await b.next((f) => f.type === 'ack' && f.ackId === 99)).success, false);
  } finally { b.close(); }
});

test('hostile bodies get a clear 400', async () => {
  for (const body of [{}, { connectionId: 5 }, { connectionId: '' }, { connectionId: 'x'.repeat(300) }, { connectionId: 'c', conversationId: 7 },
    { connectionId: 'c', conversationId: ['demo'] }, { connectionId: 'c', previousConversationId: {} }]) {
    const r = await api(stub.base, alice, 'POST', '/chat/subscribe', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.ok(r.json.error.message);
  }
  assert.equal((await api(stub.base, null, 'POST', '/chat/subscribe', { connectionId: 'c' })).status, 401);
});
