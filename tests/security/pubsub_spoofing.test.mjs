// Spoofed chat messages: a member's access URL lets her join the conversation group but not send
// to it (only the backend publishes stored messages there); typing goes to conversation:X:typing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api } from '../lib/stub.mjs';
import { connect, claimsOf } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

async function open(token, groups, protocol = 'json.webpubsub.azure.v1') {
  const r = await api(stub.base, token, 'POST', '/realtime/clientAccessUrl', { groups });
  assert.equal(r.status, 200, r.text);
  const c = await connect(r.json.url, protocol);
  await c.next((f) => f.event === 'connected');
  c.url = r.json.url;
  c.ack = 0;
  c.request = async (frame) => {
    const ackId = ++c.ack;
    c.send({ ...frame, ackId });
    return c.next((f) => f.type === 'ack' && f.ackId === ackId, 10000);
  };
  return c;
}

const chatFrame = (text) => ({ type: 'chat.message', message: { messageId: `spoof-${text}`, conversationId: 'demo', senderId: 'carol', seq: 999999, text } });

for (const protocol of ['json.webpubsub.azure.v1', 'json.reliable.webpubsub.azure.v1']) {
  test(`${protocol}: a member cannot send to conversation:demo; bob receives only the stored message`, async () => {
    const bobConn = await open(bob, ['conversation:demo']);
    assert.equal((await bobConn.request({ type: 'joinGroup', group: 'conversation:demo' })).success, true);
    const mallory = await open(alice, ['conversation:demo'], protocol);
    assert.equal((await mallory.request({ type: 'joinGroup', group: 'conversation:demo' })).success, true, 'joining is allowed');
    for (const [dataType, data] of [['json', chatFrame('forged by alice')], ['text', 'plain spoof'], ['binary', Buffer.from('bin').toString('base64')]]) {
      const ack = await mallory.request({ type: 'sendToGroup', group: 'conversation:demo', dataType, data });
      assert.equal(ack.success, false, `sendToGroup ${dataType} to conversation:demo was accepted`);
      assert.equal(ack.error?.name, 'Forbidden');
    }
    // The backend's stored message arrives and is the first thing bob sees.
    const sent = await api(stub.base, carol, 'POST', '/chat/reply', { conversationId: 'demo', message: 'real one', clientMessageId: `real-${protocol}` });
    assert.equal(sent.status, 201);
    const first = await bobConn.next((f) => f.type === 'message', 15000);
    assert.equal(first.data?.message?.messageId, sent.json.message.messageId, `bob first got ${JSON.stringify(first)}`);
    mallory.close();
    bobConn.close();
  });
}

test('the access URL carries no send role on conversation groups other than :typing', async () => {
  const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groups: ['conversation:demo'] })).json.url;
  const roles = claimsOf(url).role || [];
  assert.ok(!roles.includes('webpubsub.sendToGroup'), 'no unrestricted send role');
  assert.ok(!roles.includes('webpubsub.sendToGroup.conversation:demo'), `roles: ${roles}`);
  assert.ok(!roles.some((r) => /^webpubsub\.sendToGroups\./.test(r) && !r.endsWith(':typing')), `roles: ${roles}`);
});

test('typing: members join and send to conversation:demo:typing with the same access URL', async () => {
  const bobConn = await open(bob, ['conversation:demo']);
  assert.equal((await bobConn.request({ type: 'joinGroup', group: 'conversation:demo:typing' })).success, true, 'bob joins the typing group');
  const a = await open(alice, ['conversation:demo']);
  const join = await a.request({ type: 'joinGroup', group: 'conversation:demo:typing' });
  assert.equal(join.success, true, `join typing: ${JSON.stringify(join)}`);
  const send = await a.request({ type: 'sendToGroup', group: 'conversation:demo:typing', dataType: 'json', data: { type: 'typing', userId: 'alice' }, noEcho: true });
  assert.equal(send.success, true, `send typing: ${JSON.stringify(send)}`);
  const m = await bobConn.next((f) => f.type === 'message', 10000);
  assert.equal(m.group, 'conversation:demo:typing');
  assert.equal(m.fromUserId, 'alice', 'the sender is the authenticated user');
  a.close();
  bobConn.close();
});

test('a non-member cannot join or send to another conversation\'s typing group', async () => {
  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'alice and bob', members: ['bob'] });
  assert.equal(created.status, 201);
  const cid = created.json.conversation.conversationId;
  for (const groups of [[`conversation:${cid}:typing`], [`conversation:${cid}`], ['conversation:demo', `conversation:${cid}:typing`]]) {
    const r = await api(stub.base, carol, 'POST', '/realtime/clientAccessUrl', { groups });
    assert.equal(r.status, 403, `carol asked for ${groups}: ${r.status}`);
  }
  const c = await open(carol, ['conversation:demo']);
  for (const frame of [{ type: 'joinGroup', group: `conversation:${cid}:typing` }, { type: 'joinGroup', group: `conversation:${cid}` },
    { type: 'sendToGroup', group: `conversation:${cid}:typing`, dataType: 'text', data: 'x' },
    { type: 'sendToGroup', group: `conversation:${cid}`, dataType: 'text', data: 'x' },
    { type: 'joinGroup', group: 'conversation:demo:typing:x' }, { type: 'joinGroup', group: 'conversation:demo:other' }]) {
    const ack = await c.request(frame);
    assert.equal(ack.success, false, `${frame.type} ${frame.group}`);
    assert.equal(ack.error?.name, 'Forbidden');
  }
  c.close();
});
