// Replies and read receipts: POST /chat/reply with replyTo (every refusal's status and reason, the
// link on the stored message, in history, on the live chat.message event once, on an idempotent
// replay, and after its parent is edited or deleted), GET /chat/messages/{id}, and POST /chat/read
// with the members' positions on /conversation/detail (reads) and chat.read events published only
// when a position moves, kept across a kill -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi, outboxDrained } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

const EVENT_TIMEOUT = 20000;  // generous: the suite must pass on a loaded machine

const REPLY_TO_REASON = /^'replyTo' must be the id of a message of this conversation\.$/;
const NOT_MEMBER = /^You are not a member of this conversation\.$/;
const NO_SUCH_MESSAGE = /^No such message\.$/;
const READ_BODY_REASON = /^'conversationId' and 'seq' \(non-negative integer\) are required\.$/;

let stub;
let alice;
let bob;
let carol;
before(async () => {
  // No send/change rate limit: the suite sends more than a burst per user.
  stub = await startStub({ args: ['--send-rate', '0'] });
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

// ---- helpers ------------------------------------------------------------------------------------

const send = (s, token, conversationId, message, extra = {}) =>
  api(s.base, token, 'POST', '/chat/reply', { conversationId, message, ...extra });
const edit = (s, token, id, body) => api(s.base, token, 'PATCH', `/chat/messages/${encodeURIComponent(id)}`, body);
const del = (s, token, id) => api(s.base, token, 'DELETE', `/chat/messages/${encodeURIComponent(id)}`);
const getMessage = (s, token, id) => api(s.base, token, 'GET', `/chat/messages/${encodeURIComponent(id)}`);
const detail = (s, token, query) => api(s.base, token, 'GET', `/conversation/detail?${query}`);
const markRead = (s, token, body) => api(s.base, token, 'POST', '/chat/read', body);

async function sent(s, token, conversationId, message, extra) {
  const r = await send(s, token, conversationId, message, extra);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.duplicate, false);
  return r.json.message;
}

async function newConversation(s, token, title, members) {
  const r = await api(s.base, token, 'POST', '/chat/conversations', { title, members });
  assert.equal(r.status, 201, r.text);
  return r.json.conversation.conversationId;
}

// The normal (seq) history page of a conversation.
async function history(s, token, conversationId) {
  const h = await detail(s, token, `conversationId=${encodeURIComponent(conversationId)}&limit=200`);
  assert.equal(h.status, 200, h.text);
  return h.json;
}

async function stored(s, token, conversationId, messageId) {
  return (await history(s, token, conversationId)).messages.find((m) => m.messageId === messageId);
}

async function readsOf(s, token, conversationId) {
  const h = await detail(s, token, `conversationId=${encodeURIComponent(conversationId)}`);
  assert.equal(h.status, 200, h.text);
  return h.json.reads;
}

function assertError(r, status, message, what = '') {
  assert.equal(r.status, status, `${what} ${r.status} ${r.text}`);
  assert.ok(r.json?.error, `${what}: an error body (${r.text})`);
  if (message) assert.match(r.json.error.message, message, what);
}

// A connection with no group (what the web client opens), with its connection id and every
// frame it ever got (c.frames loses the ones c.next took).
async function open(s, token) {
  const r = await api(s.base, token, 'POST', '/realtime/clientAccessUrl', { groups: [] });
  assert.equal(r.status, 200, r.text);
  const c = await connect(r.json.url);
  c.all = [];
  c.ws.on('message', (d) => c.all.push(JSON.parse(String(d))));
  c.id = (await c.next((f) => f.event === 'connected', EVENT_TIMEOUT)).connectionId;
  return c;
}

async function subscribe(s, token, c, conversationId) {
  const r = await api(s.base, token, 'POST', '/chat/subscribe', { connectionId: c.id, conversationId });
  assert.equal(r.status, 200, r.text);
}

const groupEvent = (type, eventId) => (f) => f.type === 'message' && f.from === 'group' && f.data?.type === type &&
  (eventId === undefined || f.data.eventId === eventId);

// Everything committed so far is published; a last message (same group, published after) marks
// the end of what could still arrive on `c`.
async function settle(s, token, conversationId, c) {
  await outboxDrained(s);
  const end = await sent(s, token, conversationId, 'the end');
  await c.next(groupEvent('chat.message', end.messageId), EVENT_TIMEOUT);
  return end;
}

// ---- replies --------------------------------------------------------------------------------------

test('reply: refusals for a bad, unknown, foreign or deleted replyTo and for a non-member; refusals store nothing', async () => {
  const room = await newConversation(stub, alice, 'Reply rules', ['bob']);      // carol is not a member
  const other = await newConversation(stub, alice, 'Another room', ['bob']);    // alice and bob are in both
  const carols = await newConversation(stub, carol, "Carol's room", ['alice']); // bob is not a member
  const p = await sent(stub, alice, room, 'the parent');
  const elsewhere = await sent(stub, alice, other, 'in another room');
  const hidden = await sent(stub, carol, carols, 'where bob is not');

  // Not a message id of this conversation: all the same 400 and reason, whoever's room it is in.
  for (const [replyTo, what] of [
    [5, 'a number'], [true, 'a boolean'], [{ messageId: p.messageId }, 'an object'], [[p.messageId], 'an array'],
    ['', 'empty'], ['x'.repeat(129), '129 bytes'], ['x'.repeat(5000), '5000 bytes'], ['x'.repeat(128), '128 bytes, unknown'],
    ['msg_00000000000000000000', 'an unknown id'], [p.messageId.toUpperCase(), 'the id in upper case'],
    [elsewhere.messageId, 'a message of another conversation the sender is in'],
  ]) assertError(await send(stub, alice, room, 'a reply', { replyTo }), 400, REPLY_TO_REASON, what);
  // A conversation bob is not in: the same answer (no hint that it exists).
  assertError(await send(stub, bob, room, 'a reply', { replyTo: hidden.messageId }), 400, REPLY_TO_REASON, 'a message of a conversation bob is not in');
  // A non-member: 403 as before, with or without a replyTo.
  assertError(await send(stub, carol, room, 'let me in', { replyTo: p.messageId }), 403, NOT_MEMBER, 'a non-member replying');
  assertError(await send(stub, carol, room, 'let me in'), 403, NOT_MEMBER, 'a non-member sending');
  // A deleted parent: 409.
  const gone = await sent(stub, bob, room, 'soon deleted');
  const d = await del(stub, bob, gone.messageId);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.message.deleted, true);
  assertError(await send(stub, alice, room, 'a reply to a tombstone', { replyTo: gone.messageId }), 409,
    /^The message you reply to was deleted\.$/, 'a deleted parent');

  // None of that stored anything (here or in the other rooms).
  const h = await history(stub, alice, room);
  assert.deepEqual(h.messages.map((m) => m.messageId), [p.messageId, gone.messageId], 'only the two messages sent');
  assert.equal(h.conversation.lastSeq, gone.seq);
  assert.deepEqual((await history(stub, alice, other)).messages.map((m) => m.messageId), [elsewhere.messageId]);
  assert.deepEqual((await history(stub, carol, carols)).messages.map((m) => m.messageId), [hidden.messageId]);

  // replyTo null or absent: a plain message, without a replyTo field.
  for (const extra of [{ replyTo: null }, {}]) {
    const m = await sent(stub, bob, room, 'no reply', extra);
    assert.equal(m.replyTo, undefined, JSON.stringify(extra));
    assert.equal((await stored(stub, alice, room, m.messageId)).replyTo, undefined, `stored, ${JSON.stringify(extra)}`);
  }
});

test('reply: the link on the stored message, in history, on the live chat.message (once), and on an idempotent replay', async () => {
  const room = await newConversation(stub, alice, 'Replies', ['bob']);
  await outboxDrained(stub);  // its conversation.created is out before the socket opens
  const b = await open(stub, bob);
  try {
    await subscribe(stub, bob, b, room);
    const p = await sent(stub, alice, room, 'a question?');
    const between = await sent(stub, alice, room, 'something else');
    const r = await sent(stub, bob, room, 'the answer', { replyTo: p.messageId, clientMessageId: 'cm-reply-1' });
    assert.equal(r.conversationId, room);
    assert.equal(r.senderId, 'bob');
    assert.equal(r.text, 'the answer');
    assert.equal(r.seq, between.seq + 1);
    assert.deepEqual(r.replyTo, { messageId: p.messageId, seq: p.seq }, 'the reply names its parent and its seq');
    assert.notEqual(p.seq, between.seq);

    // An idempotent replay answers the first stored message, with its replyTo (even a replay
    // whose body lost the replyTo).
    for (const extra of [{ replyTo: p.messageId }, {}]) {
      const again = await send(stub, bob, room, 'the answer', { clientMessageId: 'cm-reply-1', ...extra });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json.duplicate, true);
      assert.equal(again.json.message.messageId, r.messageId);
      assert.equal(again.json.message.seq, r.seq);
      assert.deepEqual(again.json.message.replyTo, { messageId: p.messageId, seq: p.seq }, JSON.stringify(extra));
    }

    // A reply to a reply, and alice replying to the older message.
    const rr = await sent(stub, alice, room, 'thanks', { replyTo: r.messageId });
    assert.deepEqual(rr.replyTo, { messageId: r.messageId, seq: r.seq });
    const ro = await sent(stub, alice, room, 'and also', { replyTo: p.messageId });
    assert.deepEqual(ro.replyTo, { messageId: p.messageId, seq: p.seq });

    // History: each once, with the same link; the others without one.
    const h = await history(stub, bob, room);
    assert.deepEqual(h.messages.map((m) => m.messageId), [p.messageId, between.messageId, r.messageId, rr.messageId, ro.messageId],
      'the replay stored nothing');
    const byId = new Map(h.messages.map((m) => [m.messageId, m]));
    assert.deepEqual(byId.get(r.messageId), r, 'history has the reply as it was answered');
    assert.deepEqual(byId.get(rr.messageId).replyTo, { messageId: r.messageId, seq: r.seq });
    assert.deepEqual(byId.get(ro.messageId).replyTo, { messageId: p.messageId, seq: p.seq });
    assert.equal(byId.get(p.messageId).replyTo, undefined);
    assert.equal(byId.get(between.messageId).replyTo, undefined);
    // GET /chat/messages/{id} has it too.
    const g = await getMessage(stub, alice, r.messageId);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json.message.replyTo, { messageId: p.messageId, seq: p.seq });

    // Live: the subscribed connection gets the reply with its link.
    const live = await b.next(groupEvent('chat.message', r.messageId), EVENT_TIMEOUT);
    assert.equal(live.group, `conversation:${room}`);
    assert.equal(live.data.message.messageId, r.messageId);
    assert.equal(live.data.message.text, 'the answer');
    assert.deepEqual(live.data.message.replyTo, { messageId: p.messageId, seq: p.seq });
    const liveRr = await b.next(groupEvent('chat.message', rr.messageId), EVENT_TIMEOUT);
    assert.deepEqual(liveRr.data.message.replyTo, { messageId: r.messageId, seq: r.seq });
    const liveP = await b.next(groupEvent('chat.message', p.messageId), EVENT_TIMEOUT);
    assert.equal(liveP.data.message.replyTo, undefined, 'a message that is not a reply has no link');

    // Exactly once, the replays included.
    await settle(stub, alice, room, b);
    const ofReply = b.all.filter(groupEvent('chat.message', r.messageId));
    assert.equal(ofReply.length, 1, `one chat.message for the reply: ${JSON.stringify(ofReply)}`);
    assert.deepEqual(ofReply[0].data.message.replyTo, { messageId: p.messageId, seq: p.seq });
  } finally { b.close(); }
});

test('reply: the link stays when its parent is edited or deleted; GET of the parent shows its current state', async () => {
  const room = await newConversation(stub, alice, 'Parents change', ['bob']);
  const p = await sent(stub, alice, room, 'the original words');
  const r = await sent(stub, bob, room, 'a reply', { replyTo: p.messageId });
  const link = { messageId: p.messageId, seq: p.seq };
  assert.deepEqual(r.replyTo, link);

  // Edited: the reply keeps its link; the parent is served as edited.
  const e = await edit(stub, alice, p.messageId, { text: 'the edited words' });
  assert.equal(e.status, 200, e.text);
  assert.deepEqual((await stored(stub, bob, room, r.messageId)).replyTo, link, 'after the edit, in history');
  const ge = await getMessage(stub, bob, p.messageId);
  assert.equal(ge.status, 200, ge.text);
  assert.equal(ge.json.message.text, 'the edited words');
  assert.equal(ge.json.message.version, e.json.message.version);
  assert.equal(ge.json.message.deleted, undefined);
  // Replying to an edited message is fine.
  const r2 = await sent(stub, bob, room, 'a reply to the edit', { replyTo: p.messageId, clientMessageId: 'r2-once' });
  assert.deepEqual(r2.replyTo, link);

  // Deleted: the replies keep their links; the parent is a tombstone.
  const d = await del(stub, alice, p.messageId);
  assert.equal(d.status, 200, d.text);
  for (const reply of [r, r2]) {
    assert.deepEqual((await stored(stub, alice, room, reply.messageId)).replyTo, link, 'after the delete, in history');
    const gr = await getMessage(stub, alice, reply.messageId);
    assert.equal(gr.status, 200, gr.text);
    assert.deepEqual(gr.json.message.replyTo, link, 'after the delete, GET of the reply');
    assert.equal(gr.json.message.text, reply.text, 'the reply itself is untouched');
  }
  const gd = await getMessage(stub, bob, p.messageId);
  assert.equal(gd.status, 200, gd.text);
  assert.equal(gd.json.message.messageId, p.messageId);
  assert.equal(gd.json.message.seq, p.seq);
  assert.equal(gd.json.message.senderId, 'alice');
  assert.equal(gd.json.message.deleted, true);
  assert.ok(!gd.json.message.text, `a tombstone has no text (${JSON.stringify(gd.json.message.text)})`);
  assert.ok(!JSON.stringify(gd.json).includes('words'), `nothing of what was said: ${gd.text}`);
  // A replay of a reply stored before the delete (its answer was lost) is answered as before.
  const replay = await send(stub, bob, room, 'a reply to the edit', { replyTo: p.messageId, clientMessageId: 'r2-once' });
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.duplicate, true);
  assert.equal(replay.json.message.messageId, r2.messageId);
  assert.deepEqual(replay.json.message.replyTo, link);
  // A deleted reply drops its link with its text.
  assert.equal((await del(stub, bob, r2.messageId)).status, 200);
  assert.equal((await getMessage(stub, bob, r2.messageId)).json.message.replyTo, undefined, 'a tombstone links nothing');
  // A new reply to the tombstone is refused; a reply to the surviving reply is not.
  assertError(await send(stub, bob, room, 'too late', { replyTo: p.messageId }), 409, /^The message you reply to was deleted\.$/);
  const r3 = await sent(stub, alice, room, 'on the reply', { replyTo: r.messageId });
  assert.deepEqual(r3.replyTo, { messageId: r.messageId, seq: r.seq });
});

// ---- GET /chat/messages/{id} ------------------------------------------------------------------------

test('GET /chat/messages/{id}: the current state for a member, 404 for a non-member and an unknown id alike, 401 without a token', async () => {
  const room = await newConversation(stub, alice, 'One message', ['bob']);  // carol is not a member
  const m = await sent(stub, alice, room, 'look at me');
  const thumbs = '\u{1F44D}';
  const react = await api(stub.base, bob, 'POST', `/chat/messages/${m.messageId}/reactions`, { emoji: thumbs });
  assert.equal(react.status, 200, react.text);

  for (const [who, token] of [['alice', alice], ['bob', bob]]) {
    const g = await getMessage(stub, token, m.messageId);
    assert.equal(g.status, 200, `${who}: ${g.text}`);
    assert.deepEqual(Object.keys(g.json), ['message'], who);
    const x = g.json.message;
    assert.equal(x.messageId, m.messageId, who);
    assert.equal(x.conversationId, room, who);
    assert.equal(x.seq, m.seq, who);
    assert.equal(x.senderId, 'alice', who);
    assert.equal(x.text, 'look at me', who);
    assert.equal(x.createdAt, m.createdAt, who);
    assert.deepEqual(x.reactions, [{ emoji: thumbs, users: ['bob'] }], `${who}: with its reactions`);
    assert.equal(x.deleted, undefined, who);
    assert.deepEqual(x, await stored(stub, token, room, m.messageId), `${who}: the same as in history`);
  }

  // Refusals.
  // A non-member gets the answer for no message at all: ids say nothing about other conversations.
  assertError(await getMessage(stub, carol, m.messageId), 404, NO_SUCH_MESSAGE, 'a non-member');
  assertError(await getMessage(stub, alice, 'msg_00000000000000000000'), 404, NO_SUCH_MESSAGE, 'an unknown id');
  assertError(await getMessage(stub, carol, 'msg_00000000000000000000'), 404, NO_SUCH_MESSAGE, 'an unknown id, a non-member');
  assertError(await getMessage(stub, alice, 'x'.repeat(129)), 404, NO_SUCH_MESSAGE, 'an over-long id');
  assertError(await getMessage(stub, alice, m.messageId + 'x'.repeat(200)), 404, NO_SUCH_MESSAGE, 'a real id made over-long');
  const anon = await fetch(`${stub.base}/chat/messages/${m.messageId}`);
  assert.equal(anon.status, 401, 'no Authorization header');
  assertError(await getMessage(stub, 'not-a-token', m.messageId), 401, null, 'a bad token');
  assert.ok(!(await anon.text()).includes('look at me'));

  // The current state: after a delete, the tombstone (no reactions, no text).
  assert.equal((await del(stub, alice, m.messageId)).status, 200);
  const t = await getMessage(stub, bob, m.messageId);
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.message.deleted, true);
  assert.equal(t.json.message.seq, m.seq);
  assert.ok(!t.json.message.text);
  assert.equal(t.json.message.reactions, undefined);
  assertError(await getMessage(stub, carol, m.messageId), 404, NO_SUCH_MESSAGE, 'a non-member, on a tombstone');
});

// ---- read receipts -----------------------------------------------------------------------------------

test('read: positions only move forward and never past the last message; detail reads has every member', async () => {
  const room = await newConversation(stub, alice, 'Reads', ['bob']);  // carol is not a member
  const other = await newConversation(stub, alice, 'Reads elsewhere', ['bob', 'carol']);
  assert.deepEqual(await readsOf(stub, alice, room), { alice: 0, bob: 0 }, 'nobody has read anything yet');
  assert.deepEqual(await readsOf(stub, carol, other), { alice: 0, bob: 0, carol: 0 });
  const m = [];
  for (let i = 1; i <= 4; i++) m.push(await sent(stub, i % 2 ? alice : bob, room, `m${i}`));
  assert.deepEqual(await readsOf(stub, bob, room), { alice: 0, bob: 0 }, 'sending is not reading');
  const last = m.at(-1).seq;

  const mark = async (token, conversationId, seq, expected, what) => {
    const r = await markRead(stub, token, { conversationId, seq });
    assert.equal(r.status, 200, `${what}: ${r.text}`);
    assert.deepEqual(r.json, { lastReadSeq: expected }, what);
  };
  await mark(alice, room, m[1].seq, m[1].seq, 'alice reads to m2');
  assert.deepEqual(await readsOf(stub, bob, room), { alice: m[1].seq, bob: 0 });
  await mark(alice, room, m[0].seq, m[1].seq, 'never back');
  await mark(alice, room, 0, m[1].seq, 'never back to 0');
  await mark(alice, room, m[1].seq, m[1].seq, 'the same again');
  await mark(bob, room, last + 100, last, 'never past the last message');
  await mark(bob, room, 2 ** 53 - 1, last, 'a huge seq');
  await mark(alice, room, m[2].seq, m[2].seq, 'alice reads on');
  assert.deepEqual(await readsOf(stub, alice, room), { alice: m[2].seq, bob: last });
  // Each conversation has its own positions.
  assert.deepEqual(await readsOf(stub, alice, other), { alice: 0, bob: 0, carol: 0 });
  // Every normal page answer has them (an older page too).
  const page = await detail(stub, bob, `conversationId=${room}&afterSeq=1&limit=1`);
  assert.equal(page.status, 200, page.text);
  assert.deepEqual(page.json.reads, { alice: m[2].seq, bob: last });
  // A new message does not move anyone.
  const m5 = await sent(stub, alice, room, 'm5');
  assert.deepEqual(await readsOf(stub, alice, room), { alice: m[2].seq, bob: last });
  await mark(bob, room, m5.seq, m5.seq, 'bob reads the new one');

  // Refusals, each with its reason; none moves anything.
  assertError(await markRead(stub, carol, { conversationId: room, seq: 1 }), 403, NOT_MEMBER, 'a non-member');
  for (const body of [{ conversationId: room }, { conversationId: room, seq: -1 }, { conversationId: room, seq: 1.5 },
    { conversationId: room, seq: '2' }, { conversationId: room, seq: null }, { seq: 1 }, { conversationId: '', seq: 1 },
    { conversationId: 5, seq: 1 }])
    assertError(await markRead(stub, alice, body), 400, READ_BODY_REASON, JSON.stringify(body));
  assertError(await markRead(stub, alice, '[1]'), 400, null, 'not an object');
  const missing = await fetch(`${stub.base}/chat/read`, { method: 'POST', body: JSON.stringify({ conversationId: room, seq: 1 }) });
  assert.equal(missing.status, 401, 'no token');
  const reads = await readsOf(stub, alice, room);
  assert.deepEqual(reads, { alice: m[2].seq, bob: m5.seq });
  assert.equal(reads.carol, undefined, 'a non-member has no position');
});

test("read: a move publishes chat.read to another member's subscribed connection; a mark that does not move publishes nothing", async () => {
  const room = await newConversation(stub, alice, 'Receipts', ['bob']);  // carol is not a member
  const m = [];
  for (let i = 1; i <= 3; i++) m.push(await sent(stub, alice, room, `m${i}`));
  await outboxDrained(stub);
  const b = await open(stub, bob);
  try {
    await subscribe(stub, bob, b, room);
    const readEvent = (userId) => (f) => groupEvent('chat.read')(f) && (userId === undefined || f.data.userId === userId);
    const mark = async (token, seq, expected) => {
      const r = await markRead(stub, token, { conversationId: room, seq });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.lastReadSeq, expected);
    };

    // A move: the event, with exactly these fields.
    await mark(alice, m[1].seq, m[1].seq);
    const first = await b.next(readEvent(), EVENT_TIMEOUT);
    assert.equal(first.group, `conversation:${room}`);
    assert.match(first.data.eventId, /^read:./);
    assert.deepEqual(first.data, { type: 'chat.read', eventId: first.data.eventId, conversationId: room, userId: 'alice', lastReadSeq: m[1].seq });

    // Marks that do not move (the same seq, a smaller one, 0), and a non-member's refused mark.
    await mark(alice, m[1].seq, m[1].seq);
    await mark(alice, m[0].seq, m[1].seq);
    await mark(alice, 0, m[1].seq);
    assertError(await markRead(stub, carol, { conversationId: room, seq: m[2].seq }), 403, NOT_MEMBER, 'a non-member');
    await outboxDrained(stub);
    // Then a real move (past the end: clamped to the last message): the next chat.read is that one.
    await mark(alice, 999, m[2].seq);
    const second = await b.next(readEvent(), EVENT_TIMEOUT);
    assert.deepEqual(second.data, { type: 'chat.read', eventId: second.data.eventId, conversationId: room, userId: 'alice', lastReadSeq: m[2].seq },
      'the next chat.read after the marks that did not move is the real move');
    assert.notEqual(second.data.eventId, first.data.eventId);
    // At the end already: another mark moves nothing.
    await mark(alice, 999, m[2].seq);

    // Nothing else: everything committed is out, and a later message arrived after it.
    await settle(stub, bob, room, b);
    const all = b.all.filter(readEvent());
    assert.deepEqual(all.map((f) => [f.data.userId, f.data.lastReadSeq]), [['alice', m[1].seq], ['alice', m[2].seq]],
      `one chat.read per move: ${JSON.stringify(all)}`);
    assert.deepEqual(await readsOf(stub, bob, room), { alice: m[2].seq, bob: 0 });
  } finally { b.close(); }
});

// ---- durability -------------------------------------------------------------------------------------

test('kill -9 and restart: read positions are kept and an unpublished chat.read goes out once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-reads-'));
  const db = path.join(dir, 'chat.db');
  let s;
  try {
    s = await startStub({ db, args: ['--send-rate', '0'] });
    let [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    const room = await newConversation(s, a, 'Remember', ['bob']);
    const m = [];
    for (let i = 1; i <= 3; i++) m.push(await sent(s, a, room, `m${i}`));
    const parent = m[0];
    const reply = await sent(s, b, room, 're m1', { replyTo: parent.messageId });
    assert.equal((await markRead(s, a, { conversationId: room, seq: m[0].seq })).json.lastReadSeq, m[0].seq);
    assert.equal((await markRead(s, b, { conversationId: room, seq: reply.seq })).json.lastReadSeq, reply.seq);
    await outboxDrained(s);
    // One more move with the outbox paused: committed, not yet published when the server dies.
    assert.equal((await stubApi(s, 'POST', '/_stub/outbox?pause=true')).status, 200);
    assert.equal((await markRead(s, a, { conversationId: room, seq: m[2].seq })).json.lastReadSeq, m[2].seq);
    assert.equal((await markRead(s, a, { conversationId: room, seq: m[1].seq })).json.lastReadSeq, m[2].seq, 'no move');
    assert.equal((await stubApi(s, 'GET', '/_stub/state')).json.outbox.pending, 1, 'one outbox row for the one move');
    await s.stop('SIGKILL');

    s = await startStub({ db, args: ['--send-rate', '0', '--outbox-paused'] });
    [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    assert.deepEqual(await readsOf(s, b, room), { alice: m[2].seq, bob: reply.seq }, 'the positions after the restart');
    // The reply keeps its link after the restart.
    const h = await history(s, a, room);
    assert.deepEqual(h.messages.find((x) => x.messageId === reply.messageId).replyTo, { messageId: parent.messageId, seq: parent.seq });
    const c = await open(s, b);
    try {
      await subscribe(s, b, c, room);
      assert.equal((await stubApi(s, 'POST', '/_stub/outbox?pause=false')).status, 200);
      const ev = await c.next(groupEvent('chat.read'), EVENT_TIMEOUT);
      assert.deepEqual(ev.data, { type: 'chat.read', eventId: ev.data.eventId, conversationId: room, userId: 'alice', lastReadSeq: m[2].seq });
      // Positions still only move forward after the restart.
      assert.equal((await markRead(s, a, { conversationId: room, seq: m[0].seq })).json.lastReadSeq, m[2].seq);
      assert.equal((await markRead(s, b, { conversationId: room, seq: 0 })).json.lastReadSeq, reply.seq);
      await settle(s, a, room, c);
      const reads = c.all.filter(groupEvent('chat.read'));
      assert.equal(reads.length, 1, `the moves published before the kill are not sent again: ${JSON.stringify(reads)}`);
    } finally { c.close(); }
  } finally {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
