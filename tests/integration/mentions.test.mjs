// Mentions (issue 18): "@id" of a member in a stored message gives that member a notification in
// their own feed (stored with the message, published through the outbox to
// notifications:user:{id}), once, saying who and where but not what (a deleted message leaves no
// copy), with an action that opens the message. Not for the sender, non-members or e-mail addresses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, outboxDrained } from '../lib/stub.mjs';
import { joinAs } from '../lib/ws.mjs';

const EVENT_TIMEOUT = 20000;

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub({ args: ['--send-rate', '0'] });
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

const feed = async (token) => {
  const r = await api(stub.base, token, 'GET', '/notifications?limit=50');
  assert.equal(r.status, 200, r.text);
  return r.json.items.filter((n) => n.id.startsWith('mention:'));
};

test('a mention notifies that member once, live and in their feed, with a link to the message and without its text', async () => {
  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Plans', members: ['bob'] });
  assert.equal(created.status, 201, created.text);
  const room = created.json.conversation.conversationId;
  const live = await joinAs(stub.base, bob, 'notifications:user:bob');
  const text = 'secret plan for @bob, cc @carol @alice and mail bob@example.com (@bob again)';
  const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: room, message: text, clientMessageId: 'mention-1' });
  assert.equal(sent.status, 201, sent.text);
  const m = sent.json.message;

  const frame = await live.next((f) => f.type === 'message' && f.data?.type === 'notification', EVENT_TIMEOUT);
  assert.equal(frame.group, 'notifications:user:bob');
  const n = frame.data.notification;
  assert.equal(n.id, `mention:${m.messageId}:bob`);
  const me = await api(stub.base, alice, 'GET', '/me');
  assert.equal(n.title, `${me.json.displayName} mentioned you`);
  assert.equal(n.body, 'in \u201cPlans\u201d');
  assert.deepEqual(n.action, { label: 'Open', link: `app:message/${m.seq}/${m.messageId}/${room}` });
  assert.deepEqual(n.target, { kind: 'user', id: 'bob' });
  assert.ok(!JSON.stringify(frame).includes('secret'), 'the message text is not in the notification');

  // In bob's feed once; carol (not a member), alice (the sender) and the address get nothing.
  const mine = await feed(bob);
  assert.deepEqual(mine.map((x) => x.id), [`mention:${m.messageId}:bob`]);
  assert.deepEqual(await feed(carol), []);
  assert.deepEqual(await feed(alice), []);

  // A replay of the same message (a retried send) notifies nobody again.
  const again = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: room, message: text, clientMessageId: 'mention-1' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true);
  await outboxDrained(stub);
  assert.equal((await feed(bob)).length, 1);
  assert.equal(live.frames.filter((f) => f.type === 'message' && f.data?.type === 'notification').length, 0, 'no second live event');

  // Deleting the message leaves the notification as it was: it never held the text.
  assert.equal((await api(stub.base, alice, 'DELETE', `/chat/messages/${m.messageId}`)).status, 200);
  const after = await feed(bob);
  assert.equal(after.length, 1);
  assert.ok(!JSON.stringify(after).includes('secret'));
  live.ws.close();
});

test('a message without a member mentioned creates no notification; a member mentioning themself neither', async () => {
  const before = (await feed(bob)).length;
  for (const message of ['no mention here', 'hi @nobody-like-that', 'email bob@corp.example', '@alice note to self'])
    assert.equal((await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message })).status, 201);
  await outboxDrained(stub);
  assert.equal((await feed(bob)).length, before);
  assert.deepEqual(await feed(alice), []);
});
