// Any number of conversations, one socket per tab (issue 17), in every engine: bob is in 500
// conversations and opens the least recently active one; its messages arrive live, the others'
// badges rise live, and switching quickly across 50 conversations while messages flow into them
// loses and duplicates nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { ENGINE, launch, waitLive, logText, findTarget, clickTarget } from '../lib/browser.mjs';

let stub;
let browser;
let alice;
const convs = [];  // ids, oldest activity first is convs[0] (no message at all)

before(async () => {
  stub = await startStub({ args: ['--create-rate', '0', '--send-rate', '0'] });
  browser = await launch();
  alice = await login(stub.base, 'alice');
  for (let i = 0; i < 500; i++) {
    const r = await api(stub.base, alice, 'POST', '/chat/conversations', { title: `Room ${i}`, members: ['bob'] });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    convs.push(r.json.conversation.conversationId);
  }
  // Every room but the first has some activity, so the first is the least recently active.
  for (let i = 1; i < convs.length; i++) await say(convs[i], `old ${i}`);
});
after(async () => { await browser?.close(); await stub?.stop(); });

async function say(conversationId, message) {
  const r = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId, message, clientMessageId: `${conversationId}-${message}` });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.json));
}

const bobSockets = async () => (await stubApi(stub, 'GET', '/_stub/state')).json.connections.filter((c) => c.userId === 'bob' && c.attached);

test('500 conversations: the least recently active is live, badges rise live, one socket for chat and notifications', async (t) => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=bob&conversation=${convs[0]}`);
  await waitLive(page);
  t.after(() => context.close());
  // Bob's 500 rooms and the demo conversation ("connected" is the open conversation's state; the
  // list is its own request, and its mirror may come a frame later).
  await page.waitFor((n) => document.querySelectorAll('#conv-list [data-conversation-id]').length === n, 501);
  const burst = Array.from({ length: 30 }, (_, i) => `live ${i}`);
  await Promise.all(burst.map((m) => say(convs[0], m)));
  await page.waitFor((n) => document.querySelectorAll('#chat-log [data-message-id]').length >= n, burst.length);
  const log = await logText(page);
  for (const m of burst) assert.equal(log.filter((l) => l === `alice: ${m}`).length, 1, `${m} exactly once`);
  // Another conversation's badge rises live, without a reload.
  await say(convs[250], 'elsewhere');
  await page.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`)?.dataset.unread === '2', convs[250]);
  // One socket: the chat subscription and the notification groups are on the same connection.
  const sockets = await bobSockets();
  assert.equal(sockets.length, 1, `one WebSocket per tab (${JSON.stringify(sockets)})`);
  assert.ok(sockets[0].groups.includes(`conversation:${convs[0]}`), sockets[0].groups.join(','));
  assert.ok(sockets[0].groups.includes('notifications:user:bob'), sockets[0].groups.join(','));
  assert.ok(sockets[0].groups.filter((g) => g.startsWith('conversation:') && !g.endsWith(':typing')).length === 1,
    'only the open conversation is subscribed');
  assert.deepEqual(await page.pageErrors(), []);
});

test('switching quickly across 50 conversations while messages flow into them loses nothing', async (t) => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=bob&conversation=${convs[0]}`);
  await waitLive(page);
  const rooms = convs.slice(100, 150);
  const sent = new Map(rooms.map((id) => [id, []]));
  const click = (id) => page.evaluate((c) => document.querySelector(`#conv-list [data-conversation-id="${c}"]`).click(), id);
  for (const [i, id] of rooms.entries()) {
    await click(id);
    // Messages land in the room just opened, the one before and one not yet opened.
    const targets = [id, rooms[Math.max(0, i - 1)], rooms[(i + 7) % rooms.length]];
    await Promise.all(targets.map((room, k) => {
      const m = `flow ${i}.${k}`;
      sent.get(room).push(m);
      return say(room, m);
    }));
  }
  // Every room, opened again, shows each of its messages exactly once.
  for (const id of rooms) {
    await click(id);
    await page.waitFor((c) => document.getElementById('chat-status').textContent === 'connected' &&
      [...document.querySelectorAll('#conv-list [data-conversation-id]')].some((b) => b.dataset.conversationId === c && /\(open\)/.test(b.textContent)), id);
    await page.waitFor((n) => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .filter((e) => e.textContent.startsWith('alice: flow ')).length >= n, sent.get(id).length);
    const log = (await logText(page)).filter((l) => l.startsWith('alice: flow '));
    assert.deepEqual([...log].sort(), sent.get(id).map((m) => `alice: ${m}`).sort(), `room ${id}`);
  }
  assert.equal((await bobSockets()).length, 1, 'still one socket');
});

// The list's filter (issue 13): with 500 conversations the box is there; typed with real keys,
// it keeps the titles that contain the text in any case and script, on the canvas and in the
// accessible mirror alike.
test('the conversation filter: case-insensitive, in every script, canvas and mirror', async (t) => {
  for (const title of ['Встреча в ПЯТНИЦУ', 'ΟΜΆΔΑ Σχεδιασμού', '週次の会議']) {
    const r = await api(stub.base, alice, 'POST', '/chat/conversations', { title, members: ['bob'] });
    assert.equal(r.status, 201, r.text);
  }
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=bob&conversation=${convs[0]}`);
  await waitLive(page);
  await findTarget(page, 'conv-filter');
  await page.settledBox('#conv-filter');
  const listed = () => page.evaluate(() => [...document.querySelectorAll('#conv-list [data-conversation-id]')]
    .map((b) => b.textContent.replace(/ \((\d+ unread|open)\)/g, '')));
  // The canvas rows are the mirror's rows (by id): the canvas's targets come from the frame it
  // drew, a count alone could still be the previous filter's (one row before, one after).
  const canvasMatchesMirror = () => page.waitFor(() => {
    const ids = [...document.querySelectorAll('#conv-list [data-conversation-id]')].map((b) => `conv:${b.dataset.conversationId}`).sort();
    const drawn = Object.keys(Module.chat.targets).filter((k) => k.startsWith('conv:')).sort();
    return JSON.stringify(drawn) === JSON.stringify(ids);
  });
  // Waits for the list to show exactly `titles`: a count alone would pass on the previous
  // filter's rows (one match before, one match after) before the new text is applied.
  const filterBy = async (text, titles) => {
    await page.focus('#conv-filter');
    await page.evaluate(() => { const f = document.getElementById('conv-filter'); f.select(); });
    await page.type(text);
    assert.equal(await page.value('#conv-filter'), text);
    const want = [...titles].sort();
    await page.waitFor((w) => JSON.stringify([...document.querySelectorAll('#conv-list [data-conversation-id]')]
      .map((b) => b.textContent.replace(/ \((\d+ unread|open)\)/g, '')).sort()) === JSON.stringify(w), want);
    await canvasMatchesMirror();
    assert.deepEqual((await listed()).sort(), want);
  };
  await filterBy('ROOM 42', ['Room 42', ...Array.from({ length: 10 }, (_, i) => `Room 42${i}`)]);
  await filterBy('пятниц', ['Встреча в ПЯТНИЦУ']);
  await filterBy('σχεδιασμού', ['ΟΜΆΔΑ Σχεδιασμού']);
  await filterBy('会議', ['週次の会議']);
  await filterBy('no such room', []);
  await findTarget(page, 'conv-filter-empty');
  // Esc in the box clears it: every conversation again.
  await page.press('Escape');
  await page.waitFor((k) => document.querySelectorAll('#conv-list [data-conversation-id]').length === k, 504);
  await canvasMatchesMirror();
  assert.deepEqual(await page.pageErrors(), []);
});

// New conversation (issue 13): the member picker on the canvas, the title typed in any script;
// the conversation opens for its creator at once and appears live in the others' lists with its
// first message (the backend publishes activity per stored message, nothing at creation).
test('New conversation: pick a member, name it, it opens; the other member sees it live', async (t) => {
  const ctxCarol = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const ctxAlice = await browser.newContext({ viewport: { width: 900, height: 640 } });
  t.after(() => Promise.all([ctxCarol.close(), ctxAlice.close()]));
  const carol = await ctxCarol.newPage();
  const alicePage = await ctxAlice.newPage();
  await alicePage.goto(`${stub.base}/?user=alice&conversation=demo`);
  await carol.goto(`${stub.base}/?user=carol`);
  await waitLive(alicePage);
  await waitLive(carol);
  await clickTarget(carol, 'new-conversation');
  // The picker: the title field takes the keyboard, the people come from GET /chat/contacts.
  await carol.waitFor(() => !document.getElementById('new-conv').hidden && document.activeElement?.id === 'new-conv-title');
  await findTarget(carol, 'pick:alice');
  await findTarget(carol, 'pick:bob');
  assert.ok(!(await carol.evaluate(() => Object.keys(Module.chat.targets).some((k) => k === 'pick:carol'))), 'not herself');
  await clickTarget(carol, 'pick:alice');
  await carol.waitFor(() => document.querySelector('#new-conv-people [data-user-id="alice"]')?.getAttribute('aria-pressed') === 'true');
  const title = `Погода ☀ ${ENGINE}`;
  await carol.focus('#new-conv-title');
  await carol.type(title.slice(0, -1));
  // The last keystroke and Enter inside one frame (a fast typist on a busy machine): the title
  // created is the one typed, not the previous frame's.
  await carol.evaluate((last) => {
    const f = document.getElementById('new-conv-title');
    f.value += last;
    f.dispatchEvent(new Event('input', { bubbles: true }));
    f.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
  }, title.slice(-1));
  await carol.waitFor((x) => document.getElementById('chat-title').textContent === x, title);
  await waitLive(carol);
  const cid = await carol.evaluate(() => document.querySelector('#conv-list [aria-current="true"]').dataset.conversationId);
  assert.ok(cid && cid !== 'demo');
  // Alice's page, open all along, lists it at once, before any message in it (conversation.created
  // through her user channel); no reload.
  await alicePage.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`), cid);
  assert.equal(await alicePage.evaluate((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`).dataset.unread, cid), '0');
  assert.ok(await carol.evaluate(() => document.getElementById('new-conv').hidden), 'the picker is closed');
  // Back to writing: the composer has the keyboard.
  await carol.waitFor(() => document.activeElement?.id === 'composer');
  await carol.type('first message here');
  await carol.press('Enter');
  await carol.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')].some((e) => e.textContent === 'carol: first message here'));
  // Carol's first message: one unread on Alice's page.
  await alicePage.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`)?.dataset.unread === '1', cid);
  assert.match(await alicePage.evaluate((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`).textContent, cid), /^Погода ☀/);
  // Its members on the server: carol and alice only.
  const token = await login(stub.base, 'alice');
  const c = (await api(stub.base, token, 'GET', '/chat/conversations')).json.conversations.find((x) => x.conversationId === cid);
  assert.deepEqual([...c.members].sort(), ['alice', 'carol']);
  assert.equal(c.title, title);
  assert.deepEqual(await carol.pageErrors(), []);
});
