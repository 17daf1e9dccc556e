// Edits and deletes (issue 18): PATCH / DELETE /chat/messages/{id} with who may do what and every
// refusal's reason, chat.message.updated reaching a subscribed connection once per change, the
// changedAfter catch-up with paging, durability across a kill -9, and a deleted message's upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi, outboxDrained, rawRequest, healthy } from '../lib/stub.mjs';
import { connect, joinAs } from '../lib/ws.mjs';
import { tinyPng } from '../lib/files.mjs';

const EVENT_TIMEOUT = 20000;  // generous: the suite must pass on a loaded machine

let stub;
let alice;
let bob;
let carol;
before(async () => {
  // No send/change rate limit here: the suite makes more than a burst of changes per user
  // (the limit has its own test with its own server below).
  stub = await startStub({ args: ['--send-rate', '0'] });
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

// ---- helpers ------------------------------------------------------------------------------------

const send = (s, token, conversationId, message, extra = {}) =>
  api(s.base, token, 'POST', '/chat/reply', { conversationId, message, ...extra });
const edit = (s, token, id, body) => api(s.base, token, 'PATCH', `/chat/messages/${encodeURIComponent(id)}`, body);
const del = (s, token, id) => api(s.base, token, 'DELETE', `/chat/messages/${encodeURIComponent(id)}`);
const detail = (s, token, query) => api(s.base, token, 'GET', `/conversation/detail?${query}`);

async function sent(s, token, conversationId, message, extra) {
  const r = await send(s, token, conversationId, message, extra);
  assert.equal(r.status, 201, r.text);
  return r.json.message;
}

async function newConversation(s, token, title, members) {
  const r = await api(s.base, token, 'POST', '/chat/conversations', { title, members });
  assert.equal(r.status, 201, r.text);
  return r.json.conversation.conversationId;
}

// The stored copy of a message, from the normal (seq) history.
async function stored(s, token, conversationId, messageId) {
  const h = await detail(s, token, `conversationId=${encodeURIComponent(conversationId)}&limit=200`);
  assert.equal(h.status, 200, h.text);
  return h.json.messages.find((m) => m.messageId === messageId);
}

async function revOf(s, token, conversationId) {
  const h = await detail(s, token, `conversationId=${encodeURIComponent(conversationId)}`);
  assert.equal(h.status, 200, h.text);
  return h.json.rev;
}

// Uploads a small PNG as `token`; returns the attachment to send with a message and the blob id.
async function upload(s, token, name = 'x.png') {
  const bytes = tinyPng();
  const r = await fetch(`${s.base}/blobs?name=${encodeURIComponent(name)}`,
    { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' }, body: bytes });
  assert.equal(r.status, 201);
  const b = await r.json();
  const id = b.url.match(/^\/blobs\/(blob_[0-9a-f]+)\?/)[1];
  return { attachment: { url: b.url, name: b.name, size: b.size, contentType: b.contentType }, id, bytes };
}
const linkStatus = async (s, url) => (await fetch(s.base + url)).status;
// The same file: an answer carries the link signed when it was made (a new expiry and signature).
const sameFile = (x) => x && { ...x, url: x.url.replace(/\?.*$/, '') };

function assertError(r, status, message, what = '') {
  assert.equal(r.status, status, `${what} ${r.status} ${r.text}`);
  assert.ok(r.json?.error, `${what}: an error body (${r.text})`);
  if (message) assert.match(r.json.error.message, message, what);
}

// A tombstone: the same message (id, seq, sender) with nothing of what was said.
function assertTombstone(m, original, what = 'tombstone') {
  assert.equal(m.messageId, original.messageId, what);
  assert.equal(m.seq, original.seq, `${what}: the seq is kept`);
  assert.equal(m.senderId, original.senderId, what);
  assert.equal(m.conversationId, original.conversationId, what);
  assert.equal(m.deleted, true, `${what}: deleted`);
  assert.ok(!m.text, `${what}: no text (${JSON.stringify(m.text)})`);
  assert.equal(m.attachment, undefined, `${what}: no attachment`);
  assert.ok(Number.isInteger(m.version) && m.version > 0, `${what}: a version`);
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
const groupEvent = (type, eventId) => (f) => f.type === 'message' && f.from === 'group' && f.data?.type === type &&
  (eventId === undefined || f.data.eventId === eventId);

// ---- the API --------------------------------------------------------------------------------------

test('edit: only the author; status codes and reasons for every refusal; refusals change nothing', async () => {
  const room = await newConversation(stub, alice, 'Edit rules', ['bob']);  // carol is not a member
  const m = await sent(stub, alice, room, 'first words');
  assert.equal(m.version, undefined, 'a message never changed has no version');
  assert.equal(await revOf(stub, alice, room), 0, 'a new conversation starts at rev 0');

  // The author edits: 200, the same message with the new text, version = the conversation's counter.
  const e1 = await edit(stub, alice, m.messageId, { text: 'second words' });
  assert.equal(e1.status, 200, e1.text);
  assert.equal(e1.json.changed, true);
  const v1 = e1.json.message;
  assert.equal(v1.messageId, m.messageId);
  assert.equal(v1.seq, m.seq);
  assert.equal(v1.senderId, 'alice');
  assert.equal(v1.createdAt, m.createdAt, 'createdAt is kept');
  assert.equal(v1.text, 'second words');
  assert.equal(v1.version, 1);
  assert.ok(Number.isInteger(v1.editedAt) && v1.editedAt >= m.createdAt, `editedAt ${v1.editedAt}`);
  assert.equal(v1.deleted, undefined);
  assert.equal(await revOf(stub, bob, room), 1);
  // The same text again: nothing to do, no new version.
  const same = await edit(stub, alice, m.messageId, { text: 'second words' });
  assert.equal(same.status, 200, same.text);
  assert.equal(same.json.changed, false);
  assert.equal(same.json.message.version, 1);
  assert.equal(same.json.message.text, 'second words');

  // Who may not.
  assertError(await edit(stub, bob, m.messageId, { text: 'bob was here' }), 403, /^Only its author can edit a message\.$/, 'another member');
  assertError(await edit(stub, carol, m.messageId, { text: 'carol was here' }), 403, /^You are not a member of this conversation\.$/, 'a non-member');
  assertError(await del(stub, carol, m.messageId), 403, /^You are not a member of this conversation\.$/, 'a non-member deleting');
  assertError(await edit(stub, alice, 'msg_00000000000000000000', { text: 'x' }), 404, /^No such message\.$/, 'an unknown id');
  assertError(await del(stub, alice, 'msg_00000000000000000000'), 404, /^No such message\.$/, 'an unknown id (delete)');
  assertError(await edit(stub, null, m.messageId, { text: 'anonymous' }), 401, null, 'no session');
  assertError(await del(stub, 'not-a-token', m.messageId), 401, null, 'a bad session');

  // Bodies the server refuses, each with a reason.
  for (const [body, status, reason] of [
    [{}, 400, /'text' \(string\) is required/],
    [{ text: null }, 400, /'text' \(string\) is required/],
    [{ text: 5 }, 400, /'text' \(string\) is required/],
    [{ text: true }, 400, /'text' \(string\) is required/],
    [{ text: ['a'] }, 400, /'text' \(string\) is required/],
    [{ text: { s: 'a' } }, 400, /'text' \(string\) is required/],
    [{ message: 'the wrong field' }, 400, /'text' \(string\) is required/],
    [{ text: '' }, 400, /empty/],
    ['"just a string"', 400, /JSON object/],
    ['[1,2]', 400, /JSON object/],
    ['{"text": "unterminated', 400, /JSON object/],
    ['', 400, /JSON object/],
    ['{"text":"a\\u0000b"}', 400, null],                      // NUL
    ['{"text":"\\udc80"}', 400, null],                        // a lone surrogate: not UTF-8
    [{ text: 'x'.repeat(4001) }, 413, /4001 bytes; the limit is 4000/],
    [{ text: '\u00e9'.repeat(2000) + 'x' }, 413, /4001 bytes; the limit is 4000/],  // bytes, not characters
  ]) assertError(await edit(stub, alice, m.messageId, body), status, reason, JSON.stringify(body).slice(0, 60));
  // Bytes that are not UTF-8, sent raw.
  for (const bad of [[0xff, 0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
    const body = Buffer.concat([Buffer.from('{"text":"ab'), Buffer.from(bad), Buffer.from('cd"}')]);
    const r = await rawRequest(stub, {
      method: 'PATCH', path: `/chat/messages/${m.messageId}`, body,
      headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/json', 'Content-Length': body.length },
    });
    assert.equal(r.status, 400, `raw ${Buffer.from(bad).toString('hex')}: ${r.status} ${r.text}`);
    assert.ok(r.json?.error?.message);
  }
  // None of that changed anything.
  assert.equal(await revOf(stub, alice, room), 1, 'refusals do not move the change counter');
  const kept = await stored(stub, bob, room, m.messageId);
  assert.equal(kept.text, 'second words');
  assert.equal(kept.version, 1);

  // The limits themselves are allowed: exactly 4000 bytes (multi-byte), non-ASCII text.
  const full = await edit(stub, alice, m.messageId, { text: '\u00e9'.repeat(2000) });
  assert.equal(full.status, 200, full.text);
  assert.equal(full.json.message.version, 2);
  const emoji = await edit(stub, alice, m.messageId, { text: 'ok \u{1F600} \u4e2d\u6587' });
  assert.equal(emoji.status, 200, emoji.text);
  assert.equal((await stored(stub, bob, room, m.messageId)).text, 'ok \u{1F600} \u4e2d\u6587');
  assert.equal(await revOf(stub, alice, room), 3);
});

test('delete: the author or the conversation creator; a tombstone; 409 for edits after; again is a no-op', async () => {
  const room = await newConversation(stub, alice, 'Delete rules', ['bob', 'carol']);  // created by alice
  const byBob = await sent(stub, bob, room, 'bob says');
  const byCarol = await sent(stub, carol, room, 'carol says');
  const byAlice = await sent(stub, alice, room, 'alice says');
  const after = await sent(stub, bob, room, 'a later message');

  // A member who is neither the author nor the creator may not.
  assertError(await del(stub, carol, byBob.messageId), 403, /^Only its author or the conversation's creator can delete a message\.$/, 'carol deletes bob');
  assertError(await del(stub, bob, byAlice.messageId), 403, /^Only its author or the conversation's creator can delete a message\.$/, 'bob deletes the creator');
  // The creator may delete (not edit) another member's message.
  assertError(await edit(stub, alice, byBob.messageId, { text: 'alice rewrites bob' }), 403, /^Only its author can edit a message\.$/, 'the creator edits');
  assert.equal(await revOf(stub, alice, room), 0);

  const d1 = await del(stub, alice, byBob.messageId);
  assert.equal(d1.status, 200, d1.text);
  assert.equal(d1.json.changed, true);
  assertTombstone(d1.json.message, byBob, 'the creator deleted bob');
  assert.equal(d1.json.message.version, 1);
  // The author deletes their own.
  const d2 = await del(stub, carol, byCarol.messageId);
  assert.equal(d2.status, 200, d2.text);
  assert.equal(d2.json.changed, true);
  assertTombstone(d2.json.message, byCarol, 'carol deleted hers');
  assert.equal(d2.json.message.version, 2);

  // Deleting again (the author, the creator): 200, nothing changed, the same version.
  for (const [who, token] of [['bob', bob], ['alice', alice]]) {
    const again = await del(stub, token, byBob.messageId);
    assert.equal(again.status, 200, `${who}: ${again.text}`);
    assert.equal(again.json.changed, false, who);
    assert.equal(again.json.message.version, 1, who);
    assert.equal(again.json.message.deleted, true, who);
  }
  // A tombstone cannot be edited back to life, not even to the text it had.
  assertError(await edit(stub, bob, byBob.messageId, { text: 'undelete' }), 409, /^The message was deleted\.$/, 'edit a tombstone');
  assertError(await edit(stub, bob, byBob.messageId, { text: 'bob says' }), 409, /deleted/, 'edit a tombstone to its old text');
  // Who may not still may not (403 before 409 / a no-op).
  assertError(await del(stub, carol, byBob.messageId), 403, /author or the conversation's creator/, 'carol, on a tombstone');
  assertError(await edit(stub, carol, byBob.messageId, { text: 'x' }), 403, /Only its author/, 'carol edits a tombstone');
  assert.equal(await revOf(stub, alice, room), 2, 'no-ops and refusals do not move the counter');

  // The history keeps each message at its seq: tombstones in place, the rest untouched.
  const h = await detail(stub, carol, `conversationId=${room}`);
  assert.equal(h.status, 200);
  assert.equal(h.json.rev, 2);
  assert.deepEqual(h.json.messages.map((m) => m.seq), [byBob.seq, byCarol.seq, byAlice.seq, after.seq]);
  assertTombstone(h.json.messages[0], byBob, 'history: bob');
  assertTombstone(h.json.messages[1], byCarol, 'history: carol');
  assert.equal(h.json.messages[2].text, 'alice says');
  assert.equal(h.json.messages[2].version, undefined);
  assert.equal(h.json.messages[3].text, 'a later message');
  // The creator deletes her own too.
  const d3 = await del(stub, alice, byAlice.messageId);
  assert.equal(d3.status, 200);
  assertTombstone(d3.json.message, byAlice, 'alice deleted hers');
  assert.equal(d3.json.message.version, 3);
});

test('hostile message ids in the path answer 404 (or another 4xx), never crash or touch another message', async () => {
  const victim = await sent(stub, alice, 'demo', 'do not touch');
  const ids = ['..%2F..', '..%2F..%2Fconversation%2Fdetail', '%2e%2e', '..', '.', '%00', '%00' + victim.messageId, victim.messageId + '%00',
    '%FF%FE', '%C0%AF', 'x'.repeat(129), 'x'.repeat(8000), encodeURIComponent(`${victim.messageId}' OR '1'='1`), '%25', '*',
    encodeURIComponent(victim.messageId) + '%2F', '%2F' + victim.messageId, victim.messageId.toUpperCase(), `${victim.messageId}%20`];
  for (const id of ids) {
    for (const method of ['PATCH', 'DELETE']) {
      const body = method === 'PATCH' ? JSON.stringify({ text: 'pwned' }) : undefined;
      const r = await rawRequest(stub, {
        method, path: `/chat/messages/${id}`, body,
        headers: { Authorization: `Bearer ${bob}`, 'Content-Type': 'application/json', ...(body ? { 'Content-Length': Buffer.byteLength(body) } : {}) },
      });
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${id.slice(0, 40)}: ${r.status} ${r.text}`);
      if (r.status !== 404) assert.ok([400, 403].includes(r.status), `${method} ${id.slice(0, 40)}: ${r.status}`);
    }
  }
  // The id is the whole segment: the same for the obvious ones.
  for (const id of ['..%2F..', 'x'.repeat(129), 'x'.repeat(8000)])
    assertError(await rawRequest(stub, { method: 'DELETE', path: `/chat/messages/${id}`, headers: { Authorization: `Bearer ${alice}` } }), 404, /No such message/, id.slice(0, 20));
  // Extra segments are another route; other methods are not allowed.
  assert.equal((await rawRequest(stub, { method: 'DELETE', path: `/chat/messages/${victim.messageId}/x`, headers: { Authorization: `Bearer ${alice}` } })).status, 404);
  assert.equal((await api(stub.base, alice, 'POST', `/chat/messages/${victim.messageId}`, { text: 'x' })).status, 405);
  assert.equal((await api(stub.base, alice, 'PUT', `/chat/messages/${victim.messageId}`, { text: 'x' })).status, 405);
  assert.ok(await healthy(stub), 'the server is still up');
  const kept = await stored(stub, alice, 'demo', victim.messageId);
  assert.equal(kept.text, 'do not touch');
  assert.equal(kept.deleted, undefined);
  assert.equal(kept.version, undefined);
});

// ---- live events -----------------------------------------------------------------------------------

test('a subscribed connection gets chat.message.updated once per change, with its version, and nothing for no-ops', async () => {
  const room = await newConversation(stub, alice, 'Live edits', ['bob', 'carol']);
  await outboxDrained(stub);  // its conversation.created is out before the sockets open
  const [b, c] = await Promise.all([open(stub, bob), open(stub, carol)]);
  try {
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: room })).status, 200);
    // Carol's connection is subscribed elsewhere: nothing of this room reaches it.
    assert.equal((await api(stub.base, carol, 'POST', '/chat/subscribe', { connectionId: c.id, conversationId: 'demo' })).status, 200);
    const { attachment } = await upload(stub, alice, 'live.png');
    const m = await sent(stub, alice, room, 'hello', { attachment });
    const mine = await sent(stub, bob, room, 'bob here');
    for (const msg of [m, mine]) await b.next(groupEvent('chat.message', msg.messageId), EVENT_TIMEOUT);

    const expectUpdate = async (eventId, check) => {
      const f = await b.next(groupEvent('chat.message.updated', eventId), EVENT_TIMEOUT);
      assert.equal(f.group, `conversation:${room}`);
      assert.equal(f.data.eventId, eventId);
      check(f.data.message);
      return f;
    };
    // Edit: the whole message as it is now.
    const e1 = await edit(stub, alice, m.messageId, { text: 'hello, edited' });
    assert.equal(e1.status, 200);
    await expectUpdate(`upd:${m.messageId}:1`, (x) => {
      assert.equal(x.messageId, m.messageId);
      assert.equal(x.conversationId, room);
      assert.equal(x.seq, m.seq);
      assert.equal(x.text, 'hello, edited');
      assert.equal(x.version, 1);
      assert.equal(x.editedAt, e1.json.message.editedAt);
      assert.deepEqual(x.attachment, attachment, 'an edit keeps the attachment');
      assert.equal(x.deleted, undefined);
    });
    // No-ops and refusals publish nothing.
    assert.equal((await edit(stub, alice, m.messageId, { text: 'hello, edited' })).json.changed, false);
    assert.equal((await edit(stub, bob, m.messageId, { text: 'bob edits alice' })).status, 403);
    assert.equal((await edit(stub, alice, m.messageId, { text: '' })).status, 400);
    // A second edit, then the creator deletes bob's message, then alice deletes hers.
    assert.equal((await edit(stub, alice, m.messageId, { text: 'hello, twice' })).status, 200);
    await expectUpdate(`upd:${m.messageId}:2`, (x) => { assert.equal(x.text, 'hello, twice'); assert.equal(x.version, 2); });
    assert.equal((await del(stub, alice, mine.messageId)).status, 200);
    await expectUpdate(`upd:${mine.messageId}:3`, (x) => assertTombstone(x, mine, 'event: bob deleted by the creator'));
    assert.equal((await del(stub, alice, m.messageId)).status, 200);
    await expectUpdate(`upd:${m.messageId}:4`, (x) => { assertTombstone(x, m, 'event: alice deleted hers'); assert.equal(x.version, 4); });
    assert.equal((await del(stub, alice, m.messageId)).json.changed, false, 'deleting again');
    assert.equal((await edit(stub, alice, m.messageId, { text: 'back' })).status, 409);

    // Exactly once: everything committed is published; a last message (same group, published in
    // order after the changes) marks the end of what could still arrive.
    await outboxDrained(stub);
    const end = await sent(stub, bob, room, 'the end');
    await b.next(groupEvent('chat.message', end.messageId), EVENT_TIMEOUT);
    const updates = b.all.filter(groupEvent('chat.message.updated'));
    assert.deepEqual(updates.map((f) => f.data.eventId),
      [`upd:${m.messageId}:1`, `upd:${m.messageId}:2`, `upd:${mine.messageId}:3`, `upd:${m.messageId}:4`], 'one event per change, in version order');
    assert.deepEqual(updates.map((f) => f.data.message.version), [1, 2, 3, 4]);
    assert.ok(!c.all.some((f) => f.type === 'message' && f.from === 'group' && f.group === `conversation:${room}`),
      `carol's connection, subscribed to another conversation, got nothing of it: ${JSON.stringify(c.all)}`);
  } finally { b.close(); c.close(); }
});

test('a message deleted before its event went out is never published with its text (nor its edits)', async () => {
  const room = await newConversation(stub, alice, 'Regrets', ['bob']);
  await outboxDrained(stub);
  const b = await open(stub, bob);
  try {
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: room })).status, 200);
    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?pause=true')).status, 200);
    let m;
    try {
      m = await sent(stub, alice, room, 'oops, my password is hunter2');
      assert.equal((await edit(stub, alice, m.messageId, { text: 'still hunter2' })).status, 200);
      assert.equal((await del(stub, alice, m.messageId)).status, 200);
    } finally {
      assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?pause=false')).status, 200);
    }
    await outboxDrained(stub);
    const end = await sent(stub, alice, room, 'the end');
    await b.next(groupEvent('chat.message', end.messageId), EVENT_TIMEOUT);
    const frames = JSON.stringify(b.all);
    assert.ok(!frames.includes('hunter2'), `the deleted text reached a member: ${frames}`);
    const own = b.all.filter(groupEvent('chat.message', m.messageId));
    assert.equal(own.length, 1);
    assertTombstone(own[0].data.message, m, 'the message event, rewritten as the tombstone');
    assert.deepEqual(b.all.filter(groupEvent('chat.message.updated')).map((f) => f.data.eventId), [`upd:${m.messageId}:2`],
      'the edit\'s event was dropped: the delete\'s carries the whole message');
  } finally { b.close(); }
});

test('reactions: members add and take back one per emoji, bounded, live to the conversation, on history, never on a tombstone', async () => {
  const room = await newConversation(stub, alice, 'Reactions', ['bob']);
  await outboxDrained(stub);
  const react = (token, id, emoji, method = 'POST') =>
    api(stub.base, token, method, `/chat/messages/${encodeURIComponent(id)}/reactions`, { emoji });
  const b = await open(stub, bob);
  try {
    assert.equal((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: b.id, conversationId: room })).status, 200);
    const m = await sent(stub, alice, room, 'react to me');
    const thumbs = '\u{1F44D}', family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}', skin = '\u{1F44B}\u{1F3FD}';
    const r1 = await react(bob, m.messageId, thumbs);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.changed, true);
    assert.deepEqual(r1.json.message.reactions, [{ emoji: thumbs, users: ['bob'] }]);
    await b.next(groupEvent('chat.message.updated', `upd:${m.messageId}:${r1.json.message.version}`), EVENT_TIMEOUT);
    assert.equal((await react(bob, m.messageId, thumbs)).json.changed, false, 'one per user and emoji');
    for (const e of [family, skin]) assert.equal((await react(alice, m.messageId, e)).status, 200, e);
    assert.equal((await react(alice, m.messageId, thumbs)).status, 200);
    const h = await stored(stub, bob, room, m.messageId);
    assert.deepEqual(h.reactions, [{ emoji: thumbs, users: ['bob', 'alice'] }, { emoji: family, users: ['alice'] }, { emoji: skin, users: ['alice'] }]);
    const back = await react(bob, m.messageId, thumbs, 'DELETE');
    assert.equal(back.status, 200);
    assert.deepEqual(back.json.message.reactions.find((x) => x.emoji === thumbs), { emoji: thumbs, users: ['alice'] });
    assert.equal((await react(bob, m.messageId, thumbs, 'DELETE')).json.changed, false);

    // Refusals, each with its reason.
    assertError(await react(carol, m.messageId, thumbs), 403, /not a member/, 'carol is not in the room');
    assertError(await react(bob, 'msg_00000000000000000000', thumbs), 404, /No such message/);
    for (const bad of ['', ' ', 'a b', 'x'.repeat(33), '\u0000', '\u0085', 5, null, ['x']])
      assertError(await react(bob, m.messageId, bad), 400, /emoji|NUL/, JSON.stringify(bad));
    for (let i = 3; i < 20; i++) assert.equal((await react(bob, m.messageId, `e${i}`)).status, 200);
    assertError(await react(bob, m.messageId, 'one-too-many'), 409, /20 different reactions/);
    assert.equal((await react(bob, m.messageId, family)).status, 200, 'one more of a known emoji is fine');
    assert.equal((await del(stub, alice, m.messageId)).status, 200);
    assert.equal((await stored(stub, bob, room, m.messageId)).reactions, undefined, 'a tombstone has no reactions');
    assertError(await react(bob, m.messageId, thumbs), 409, /deleted/);
  } finally { b.close(); }
});

test("an edit or delete of a conversation's newest message sends its activity again: the members' list previews follow", async () => {
  const room = await newConversation(stub, alice, 'Previews', ['bob']);
  await outboxDrained(stub);
  const b = await open(stub, bob);  // not subscribed to the room: its activity reaches his user channel
  try {
    const activity = (id, version) => (f) => f.type === 'message' && f.data?.type === 'conversation.activity' &&
      f.data.messageId === id && (f.data.version ?? 0) === version;
    const older = await sent(stub, alice, room, 'older');
    const m = await sent(stub, alice, room, 'secret plans');
    await b.next(activity(m.messageId, 0), EVENT_TIMEOUT);
    const e = await edit(stub, alice, m.messageId, { text: 'public plans' });
    const f1 = await b.next(activity(m.messageId, e.json.message.version), EVENT_TIMEOUT);
    assert.equal(f1.data.preview, 'public plans');
    assert.equal(f1.data.seq, m.seq);
    const d = await del(stub, alice, m.messageId);
    const f2 = await b.next(activity(m.messageId, d.json.message.version), EVENT_TIMEOUT);
    assert.equal(f2.data.preview, 'Message deleted');
    // Not the newest: no activity again (the list does not show it).
    const eo = await edit(stub, alice, older.messageId, { text: 'older, edited' });
    await outboxDrained(stub);
    const end = await sent(stub, alice, room, 'the end');
    await b.next(activity(end.messageId, 0), EVENT_TIMEOUT);
    assert.ok(!b.all.some(activity(older.messageId, eo.json.message.version)), 'no activity for an older message');
    assert.ok(!JSON.stringify(b.all.filter((f) => f.data?.messageId === m.messageId && f.data.version)).includes('secret'));
  } finally { b.close(); }
});

// ---- catch-up ----------------------------------------------------------------------------------------

test('changedAfter: the changes in version order, once each with the latest state; paging with limit', async () => {
  const room = await newConversation(stub, alice, 'Catch-up', ['bob']);
  const other = await newConversation(stub, alice, 'Another room', ['bob']);
  const m = [];
  for (let i = 1; i <= 5; i++) m.push(await sent(stub, i % 2 ? alice : bob, room, `m${i}`));
  const h0 = await detail(stub, bob, `conversationId=${room}&changedAfter=0`);
  assert.equal(h0.status, 200, h0.text);
  assert.deepEqual(h0.json, { messages: [], hasMore: false, rev: 0 }, 'nothing changed yet');

  // v1: edit m1; v2: bob edits m2; v3: delete m3; v4: edit m1 again; v5: the creator deletes m4 (bob's).
  const change = async (r, version) => { assert.equal(r.status, 200, r.text); assert.equal(r.json.message.version, version); };
  await change(await edit(stub, alice, m[0].messageId, { text: 'm1 edited' }), 1);
  await change(await edit(stub, bob, m[1].messageId, { text: 'm2 edited' }), 2);
  await change(await del(stub, alice, m[2].messageId), 3);
  await change(await edit(stub, alice, m[0].messageId, { text: 'm1 edited again' }), 4);
  await change(await del(stub, alice, m[3].messageId), 5);
  // Not changes: a no-op, a refusal, a new message, and a change in another conversation.
  assert.equal((await edit(stub, bob, m[1].messageId, { text: 'm2 edited' })).json.changed, false);
  assert.equal((await edit(stub, alice, m[2].messageId, { text: 'again' })).status, 409);
  const m6 = await sent(stub, bob, room, 'm6');
  const o = await sent(stub, alice, other, 'elsewhere');
  await change(await edit(stub, alice, o.messageId, { text: 'elsewhere, edited' }), 1);

  const all = await detail(stub, bob, `conversationId=${room}&changedAfter=0`);
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.hasMore, false);
  assert.equal(all.json.rev, 5);
  assert.deepEqual(all.json.messages.map((x) => [x.messageId, x.version]),
    [[m[1].messageId, 2], [m[2].messageId, 3], [m[0].messageId, 4], [m[3].messageId, 5]], 'version order, each message once');
  const [c2, c3, c1, c4] = all.json.messages;
  assert.equal(c1.text, 'm1 edited again');
  assert.ok(c1.editedAt > 0);
  assert.equal(c2.text, 'm2 edited');
  assertTombstone(c3, m[2], 'catch-up m3');
  assertTombstone(c4, m[3], 'catch-up m4');
  assert.ok(!all.json.messages.some((x) => x.messageId === m[4].messageId || x.messageId === m6.messageId), 'unchanged messages are not listed');
  // The normal detail carries the same counter.
  assert.equal((await detail(stub, alice, `conversationId=${room}`)).json.rev, 5);
  assert.equal((await detail(stub, alice, `conversationId=${room}&afterSeq=2&limit=2`)).json.rev, 5);
  assert.equal((await detail(stub, alice, `conversationId=${other}`)).json.rev, 1, 'each conversation has its own counter');

  // From the current counter: nothing. From the middle: the rest.
  assert.deepEqual((await detail(stub, bob, `conversationId=${room}&changedAfter=5`)).json, { messages: [], hasMore: false, rev: 5 });
  assert.deepEqual((await detail(stub, bob, `conversationId=${room}&changedAfter=99`)).json.messages, []);
  const tail = await detail(stub, bob, `conversationId=${room}&changedAfter=3`);
  assert.deepEqual(tail.json.messages.map((x) => x.version), [4, 5]);
  assert.equal(tail.json.rev, 5);
  assert.equal(tail.json.hasMore, false);
  // changedAfter=1: m1's version 1 is superseded by 4, so it is not listed twice.
  assert.deepEqual((await detail(stub, bob, `conversationId=${room}&changedAfter=1`)).json.messages.map((x) => x.version), [2, 3, 4, 5]);

  // Paging: rev is the last version of a page that has more, the counter on the last page.
  const p1 = await detail(stub, bob, `conversationId=${room}&changedAfter=0&limit=2`);
  assert.deepEqual(p1.json.messages.map((x) => x.version), [2, 3]);
  assert.equal(p1.json.hasMore, true);
  assert.equal(p1.json.rev, 3);
  const p2 = await detail(stub, bob, `conversationId=${room}&changedAfter=${p1.json.rev}&limit=2`);
  assert.deepEqual(p2.json.messages.map((x) => x.version), [4, 5]);
  assert.equal(p2.json.hasMore, false, 'exactly the rest: no more');
  assert.equal(p2.json.rev, 5);
  for (const limit of [1, 3, 4]) {
    const got = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const r = await detail(stub, bob, `conversationId=${room}&changedAfter=${after}&limit=${limit}`);
      assert.equal(r.status, 200);
      assert.ok(r.json.messages.length <= limit);
      got.push(...r.json.messages.map((x) => x.version));
      if (r.json.hasMore) assert.equal(r.json.rev, r.json.messages.at(-1).version, `limit ${limit}: rev is the page's last version`);
      else { assert.equal(r.json.rev, 5); break; }
      after = r.json.rev;
    }
    assert.deepEqual(got, [2, 3, 4, 5], `limit ${limit}`);
  }
  assert.deepEqual((await detail(stub, bob, `conversationId=${room}&changedAfter=0&limit=0`)).json.messages.map((x) => x.version), [2, 3, 4, 5], 'limit 0: the default page');

  // Refusals: a non-member, an unknown conversation, bad numbers.
  assertError(await detail(stub, carol, `conversationId=${room}&changedAfter=0`), 403, /not a member/, 'a non-member');
  assertError(await detail(stub, bob, 'conversationId=no-such-room&changedAfter=0'), 404, null, 'unknown');
  for (const bad of ['abc', '-1', '1.5', '0x10', '99999999999999999999999'])
    assert.equal((await detail(stub, bob, `conversationId=${room}&changedAfter=${encodeURIComponent(bad)}`)).status, 400, `changedAfter=${bad}`);
});

// ---- attachments ---------------------------------------------------------------------------------------

test("a deleted message's upload stops being served once no other message links it", async () => {
  const room = await newConversation(stub, alice, 'Uploads', ['bob', 'carol']);  // created by alice
  const blobDir = `${stub.dbPath}.blobs`;

  // Alice's own upload goes with her message.
  const a = await upload(stub, alice, 'a.png');
  const ma = await sent(stub, alice, room, '', { attachment: a.attachment });
  assert.deepEqual(sameFile(ma.attachment), sameFile(a.attachment));
  const down = await fetch(stub.base + a.attachment.url);
  assert.equal(down.status, 200);
  assert.deepEqual(Buffer.from(await down.arrayBuffer()), a.bytes);
  assert.ok(existsSync(path.join(blobDir, a.id)), 'the bytes are on disk');
  // Bob re-posts her link twice (in this room and in one he made), then deletes one re-post.
  const bobsRoom = await newConversation(stub, bob, "Bob's room", ['alice']);
  const repost = await sent(stub, bob, room, 'look', { attachment: a.attachment });
  const repost2 = await sent(stub, bob, bobsRoom, 'look again', { attachment: a.attachment });
  const dr = await del(stub, bob, repost.messageId);
  assert.equal(dr.status, 200);
  assertTombstone(dr.json.message, repost, "bob's re-post");
  assert.equal(await linkStatus(stub, a.attachment.url), 200, "alice's upload is still served after bob deleted his re-post");
  assert.ok(existsSync(path.join(blobDir, a.id)));
  assert.deepEqual(sameFile((await stored(stub, bob, room, ma.messageId)).attachment), sameFile(a.attachment), "alice's message keeps it");
  // An edit of the message keeps its upload.
  assert.equal((await edit(stub, alice, ma.messageId, { text: 'a caption' })).status, 200);
  assert.equal(await linkStatus(stub, a.attachment.url), 200, 'an edit keeps the upload');
  // Alice deletes hers: bob's remaining re-post (in a room of his) still links it, so it stays;
  // when that one goes too, nothing links the upload and it goes.
  const da = await del(stub, alice, ma.messageId);
  assert.equal(da.status, 200);
  assertTombstone(da.json.message, ma, "alice's message");
  assert.equal(await linkStatus(stub, a.attachment.url), 200, 'another message still links it');
  assert.equal((await del(stub, bob, repost2.messageId)).status, 200);
  assert.equal(await linkStatus(stub, a.attachment.url), 404);
  assert.equal((await fetch(stub.base + a.attachment.url, { method: 'HEAD' })).status, 404);
  assert.ok(!existsSync(path.join(blobDir, a.id)), 'the bytes are gone from disk');

  // The creator deletes carol's message with carol's upload: carol's upload goes too.
  const c = await upload(stub, carol, 'c.png');
  const mc = await sent(stub, carol, room, 'mine', { attachment: c.attachment });
  assert.equal(await linkStatus(stub, c.attachment.url), 200);
  assertError(await del(stub, bob, mc.messageId), 403, /author or the conversation's creator/, 'bob deletes carol');
  assert.equal(await linkStatus(stub, c.attachment.url), 200, 'a refused delete removes nothing');
  assert.equal((await del(stub, alice, mc.messageId)).status, 200);
  assert.equal(await linkStatus(stub, c.attachment.url), 404);
  assert.ok(!existsSync(path.join(blobDir, c.id)));

  // Unrelated uploads stay.
  const keep = await upload(stub, alice, 'keep.png');
  await sent(stub, alice, room, 'stays', { attachment: keep.attachment });
  const plain = await sent(stub, alice, room, 'no attachment');
  assert.equal((await del(stub, alice, plain.messageId)).status, 200);
  assert.equal(await linkStatus(stub, keep.attachment.url), 200);
});

// ---- rate limit ---------------------------------------------------------------------------------------------

test('edits and deletes are rate limited per user (429 with Retry-After); sends and other users are not affected', async () => {
  // 1 a minute with the burst of 20: nothing refills during the test, even on a slow machine.
  const own = await startStub({ args: ['--send-rate', '1'] });
  try {
    const [a, b] = await Promise.all([login(own.base, 'alice'), login(own.base, 'bob')]);
    const ma = await sent(own, a, 'demo', 'alice 0');
    const mb = await sent(own, b, 'demo', 'bob 0');
    for (let i = 1; i <= 20; i++) {
      const r = await edit(own, a, ma.messageId, { text: `alice ${i}` });
      assert.equal(r.status, 200, `edit ${i}: ${r.text}`);
      assert.equal(r.json.message.version, i);
    }
    const limited = await edit(own, a, ma.messageId, { text: 'one too many' });
    assertError(limited, 429, /^Too many edits; try again in \d+ s\.$/, 'edit 21');
    const r = await fetch(`${own.base}/chat/messages/${mb.messageId}`, { method: 'DELETE', headers: { Authorization: `Bearer ${a}` } });
    assert.equal(r.status, 429, 'the creator deleting shares the bucket');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.match((await r.json()).error.message, /^Too many deletes; try again in \d+ s\.$/);
    // Nothing was changed by the refused requests.
    const h = await detail(own, b, 'conversationId=demo');
    assert.equal(h.json.rev, 20);
    assert.equal(h.json.messages.find((x) => x.messageId === ma.messageId).text, 'alice 20');
    assert.equal(h.json.messages.find((x) => x.messageId === mb.messageId).deleted, undefined);
    // Another user's bucket, and alice's sends, are separate.
    assert.equal((await edit(own, b, mb.messageId, { text: 'bob 1' })).status, 200);
    assert.equal((await send(own, a, 'demo', 'alice can still send')).status, 201);
  } finally { await own.stop(); }
});

// ---- durability -----------------------------------------------------------------------------------------------

test('kill -9 and restart: edits and tombstones are kept, unpublished changes go out, the counter goes on', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-edits-'));
  const db = path.join(dir, 'chat.db');
  let s;
  try {
    s = await startStub({ db, args: ['--send-rate', '0'] });
    let [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    const up = await upload(s, a, 'gone.png');
    const control = await upload(s, a, 'control.png');
    const m1 = await sent(s, a, 'demo', 'one');
    const m2 = await sent(s, a, 'demo', 'two', { attachment: up.attachment });
    const m3 = await sent(s, a, 'demo', 'three');
    const m4 = await sent(s, b, 'demo', 'four (bob)');
    await sent(s, a, 'demo', 'control', { attachment: control.attachment });
    assert.equal((await edit(s, a, m1.messageId, { text: 'one, edited' })).status, 200);   // v1
    assert.equal((await del(s, a, m2.messageId)).status, 200);                             // v2
    assert.equal(await linkStatus(s, up.attachment.url), 404);
    await outboxDrained(s);
    // Two more with the outbox paused: committed, not yet published when the server dies.
    assert.equal((await stubApi(s, 'POST', '/_stub/outbox?pause=true')).status, 200);
    assert.equal((await edit(s, a, m3.messageId, { text: 'three, edited' })).status, 200);  // v3
    assert.equal((await del(s, a, m4.messageId)).status, 200);                             // v4: the creator
    assert.equal((await stubApi(s, 'GET', '/_stub/state')).json.outbox.pending, 2, 'one outbox row per change');
    await s.stop('SIGKILL');

    s = await startStub({ db, args: ['--send-rate', '0', '--outbox-paused'] });
    [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    const c = await joinAs(s.base, b, 'conversation:demo');
    try {
      assert.equal((await stubApi(s, 'POST', '/_stub/outbox?pause=false')).status, 200);
      const u3 = await c.next(groupEvent('chat.message.updated', `upd:${m3.messageId}:3`), EVENT_TIMEOUT);
      assert.equal(u3.data.message.text, 'three, edited');
      const u4 = await c.next(groupEvent('chat.message.updated', `upd:${m4.messageId}:4`), EVENT_TIMEOUT);
      assertTombstone(u4.data.message, m4, 'published after the restart');
      await outboxDrained(s);
      // A change after the restart continues the counter.
      const e5 = await edit(s, a, m1.messageId, { text: 'one, after the restart' });
      assert.equal(e5.status, 200);
      assert.equal(e5.json.message.version, 5);
      await c.next(groupEvent('chat.message.updated', `upd:${m1.messageId}:5`), EVENT_TIMEOUT);
      await outboxDrained(s);
      const end = await sent(s, a, 'demo', 'the end');
      await c.next(groupEvent('chat.message', end.messageId), EVENT_TIMEOUT);
      // Versions 1 and 2 were published before the kill and are not sent again.
      const seen = c.frames.filter(groupEvent('chat.message.updated'));
      assert.deepEqual(seen, [], `nothing more: ${JSON.stringify(seen)}`);
    } finally { c.close(); }

    const h = await detail(s, b, 'conversationId=demo&limit=200');
    assert.equal(h.json.rev, 5);
    const byId = new Map(h.json.messages.map((x) => [x.messageId, x]));
    assert.equal(byId.get(m1.messageId).text, 'one, after the restart');
    assert.equal(byId.get(m1.messageId).version, 5);
    assert.ok(byId.get(m1.messageId).editedAt > 0);
    assertTombstone(byId.get(m2.messageId), m2, 'm2 after the restart');
    assert.equal(byId.get(m3.messageId).text, 'three, edited');
    assert.equal(byId.get(m3.messageId).version, 3);
    assertTombstone(byId.get(m4.messageId), m4, 'm4 after the restart');
    const changes = await detail(s, b, 'conversationId=demo&changedAfter=0');
    assert.deepEqual(changes.json.messages.map((x) => [x.messageId, x.version]),
      [[m2.messageId, 2], [m3.messageId, 3], [m4.messageId, 4], [m1.messageId, 5]]);
    assertError(await edit(s, a, m2.messageId, { text: 'back' }), 409, /deleted/, 'a tombstone after the restart');
    assert.equal(await linkStatus(s, up.attachment.url), 404, "the deleted message's upload stays gone");
    assert.equal(await linkStatus(s, control.attachment.url), 200, 'links signed before the restart still work');
  } finally {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
