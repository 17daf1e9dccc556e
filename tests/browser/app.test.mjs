// The browser app as users meet it: two or three people against the stub, in the engine named by
// ENGINE (chromium, firefox, webkit; see tests/lib/browser.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, logText, clickTarget, nudge, need, waitLive, settled, sleep } from '../lib/browser.mjs';
import { notBlank } from '../lib/png.mjs';

let stub;
let browser;
const shots = process.env.SCREENSHOT_DIR || tmpdir();
before(async () => { stub = await startStub({ args: ['--send-rate', '0'] }); browser = await launch(); });
after(async () => { await browser?.close(); await stub?.stop(); });

const waitStatus = (page, s, timeout = 20000) => page.waitFor((x) => document.getElementById('chat-status').textContent === x, s, { timeout });
const waitLog = (page, line, timeout = 15000) => page.waitFor((l) => [...document.querySelectorAll('#chat-log [data-message-id]')]
  .some((e) => e.textContent === l), line, { timeout });
const count = async (page, line) => (await logText(page)).filter((l) => l === line).length;
const send = async (page, text) => { await page.focus('#composer'); await page.type(text); await page.press('Enter'); };
const shot = (name) => path.join(shots, `${ENGINE}-${name}`);
// Alice says `text` in demo and the page shows it: whatever reached the page before on the same
// path (a replay, a duplicate) has arrived by then, so a count of an earlier message is final.
const barrier = async (page, alice, text) => {
  const line = `${text} ${Date.now()}`;
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: line, clientMessageId: `barrier-${line}` });
  await waitLog(page, `alice: ${line}`);
};

test('conversations: unread badge for another conversation, opening it marks it read on the server', async () => {
  const alice = await login(stub.base, 'alice');
  const side = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Side project', members: ['bob'], context: { kind: 'project' } });
  const cid = side.json.conversation.conversationId;
  const bob = await openChat(browser, stub.base, 'bob');
  await bob.page.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`), cid);
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: cid, message: 'psst, over here', clientMessageId: 'side-1' });
  await bob.page.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`)?.dataset.unread === '1', cid);
  await clickTarget(bob.page, `conv:${cid}`);
  await waitLog(bob.page, 'alice: psst, over here');
  await bob.page.waitFor((id) => document.querySelector(`#conv-list [data-conversation-id="${id}"]`)?.dataset.unread === '0', cid);
  const bobToken = await login(stub.base, 'bob');
  for (let i = 0; i < 50; i++) {
    const list = await api(stub.base, bobToken, 'GET', '/chat/conversations');
    if (list.json.conversations.find((c) => c.conversationId === cid).unread === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const list = await api(stub.base, bobToken, 'GET', '/chat/conversations');
  assert.equal(list.json.conversations.find((c) => c.conversationId === cid).unread, 0, 'read state reached the API');
  await bob.context.close();
});

test('forced drop: banner shows the trouble, then catch-up brings what was missed, once', async () => {
  const alice = await login(stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  // Every state the banner's mirror goes through, recorded in the page.
  await bob.page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => window.__seen.push(document.getElementById('chat-status').textContent))
      .observe(document.getElementById('chat-status'), { childList: true, characterData: true, subtree: true });
  });
  // A close the client cannot recover from (1008): a new connection and a catch-up from the API.
  assert.equal((await stubApi(stub, 'POST', '/_stub/close?userId=bob&reason=maintenance')).status, 200);
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'sent while bob was away', clientMessageId: `away-${Date.now()}` });
  await waitLog(bob.page, 'alice: sent while bob was away');
  await waitStatus(bob.page, 'connected');
  const seen = await bob.page.evaluate(() => window.__seen);
  assert.ok(seen.some((s) => s === 'waiting-to-reconnect' || s === 'connecting'), `states seen: ${seen}`);
  await barrier(bob.page, alice, 'after the close');
  assert.equal(await count(bob.page, 'alice: sent while bob was away'), 1);
  // A network-style drop of the socket: the reliable session recovers, nothing is duplicated.
  assert.equal((await stubApi(stub, 'POST', '/_stub/drop?userId=bob')).status, 200);
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'during the drop', clientMessageId: `drop-${Date.now()}` });
  await waitLog(bob.page, 'alice: during the drop');
  await waitStatus(bob.page, 'connected');
  await barrier(bob.page, alice, 'after the drop');
  assert.equal(await count(bob.page, 'alice: during the drop'), 1);
  await bob.context.close();
});

test('deliberate close: the chat is unsubscribed and stays so (the socket serves notifications); reopening catches up', async () => {
  const alice = await login(stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  await clickTarget(bob.page, 'close-chat');
  await waitStatus(bob.page, 'closed');
  const chatConns = async () => (await stubApi(stub, 'GET', '/_stub/state')).json.connections
    .filter((c) => c.userId === 'bob' && c.attached && c.groups.includes('conversation:demo')).length;
  // The unsubscribe reaches the server (a fixed wait for it was too short on a loaded machine).
  for (const end = Date.now() + 20000; (await chatConns()) !== 0 && Date.now() < end;) await sleep(100);
  assert.equal(await chatConns(), 0, 'no connection of bob is in the conversation group');
  await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'while closed', clientMessageId: `closed-${Date.now()}` });
  // A notification for bob, published after that message (one outbox, in order) on the same
  // socket: once it is shown, the message would have been delivered too, had it been sent.
  const note = `closed-note-${Date.now()}`;
  assert.equal((await api(stub.base, alice, 'POST', '/notifications', { id: note, title: 'After the message', target: { kind: 'user', id: 'bob' } })).status, 201);
  await bob.page.waitFor((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`), note);
  assert.equal(await count(bob.page, 'alice: while closed'), 0);
  assert.equal(await chatConns(), 0, 'still unsubscribed');
  await nudge(bob.page);
  await clickTarget(bob.page, 'open-chat');
  await waitLog(bob.page, 'alice: while closed');
  await waitStatus(bob.page, 'connected');
  await bob.context.close();
});

test('notifications: to a user and to everyone, live with a toast, after a reload, mark all read', async () => {
  const alice = await login(stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  const unread = () => bob.page.evaluate(() => document.getElementById('feed-status').textContent);
  await bob.page.waitFor(() => /\d+ unread/.test(document.getElementById('feed-status').textContent));
  const stamp = Date.now();
  await api(stub.base, alice, 'POST', '/notifications', { id: `for-bob-${stamp}`, title: 'Review requested', body: 'Alice asked you to review', target: { kind: 'user', id: 'bob' } });
  // Announcements to everyone with an external link come from the backend, not from a user.
  assert.equal((await stubApi(stub, 'POST', '/_stub/notifications', { id: `all-${stamp}`, title: 'Maintenance tonight', target: { kind: 'global' }, action: { label: 'Details', link: 'https://status.example' } })).status, 201);
  await bob.page.waitFor((ids) => ids.every((id) => document.querySelector(`#feed-list [data-notification-id="${id}"]`)),
    [`for-bob-${stamp}`, `all-${stamp}`]);
  await bob.page.wait(200);
  await bob.page.screenshot({ path: shot('toast.png') });
  const before = Number((await unread()).split(' ')[0]);
  assert.ok(before >= 2);
  // After a reload they come from the API.
  await bob.page.reload();
  await bob.page.waitFor((id) => document.querySelector(`#feed-list [data-notification-id="${id}"]`), `for-bob-${stamp}`);
  await bob.page.waitFor((n) => document.getElementById('feed-status').textContent === `${n} unread notifications`, before);
  // Open the feed with the bell and mark everything read.
  await clickTarget(bob.page, 'bell');
  await clickTarget(bob.page, 'mark-all-read');
  await bob.page.waitFor(() => document.getElementById('feed-status').textContent === '0 unread notifications');
  await bob.page.wait(300);
  const feedShot = await bob.page.screenshot({ path: shot('feed.png') });
  assert.ok(notBlank(feedShot));
  // The page marks them read at once and then tells the server: wait for the server (bounded).
  const bobToken = await login(stub.base, 'bob');
  const serverUnread = async () => (await api(stub.base, bobToken, 'GET', '/notifications/unread-count')).json.unreadCount;
  for (const end = Date.now() + 15000; (await serverUnread()) !== 0 && Date.now() < end;) await sleep(100);
  assert.equal(await serverUnread(), 0);
  await bob.context.close();
});

test('older history pages in when scrolled to the top, without jumping; only visible rows are drawn', async () => {
  const alice = await login(stub.base, 'alice');
  const created = await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Long history', members: ['carol'] });
  const cid = created.json.conversation.conversationId;
  for (let i = 1; i <= 130; i++) await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: cid, message: `history line ${i}`, clientMessageId: `h${i}` });
  const carol = await openChat(browser, stub.base, 'carol');
  await clickTarget(carol.page, `conv:${cid}`);
  await waitLog(carol.page, 'alice: history line 130');
  assert.equal((await logText(carol.page)).length, 50, 'the latest page only');
  const rows = await carol.page.evaluate(() => Module.chat.rowsDrawn);
  assert.ok(rows > 0 && rows < 30, `virtualised: ${rows} rows drawn of 50`);
  await carol.page.move(500, 300);
  for (let i = 0; i < 40 && (await logText(carol.page)).length < 100; i++) {
    await carol.page.wheel(0, -2000);
    await carol.page.wait(100);
  }
  await carol.page.waitFor(() => document.querySelectorAll('#chat-log [data-message-id]').length >= 100);
  // The page has drawn all it had to (the older rows laid out, the wheel's scroll done).
  const { scrollY: y } = await settled(carol.page);
  assert.ok(y > 200, `the view stayed on the rows the user was reading (scrollY ${y}), it did not jump to the top`);
  await carol.context.close();
});

test('a failed send shows Retry; after the server is back, Retry sends it once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-retry-'));
  let own = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0'] });
  const port = own.port;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${own.base}/?user=alice&sendRetryWindowMs=2000`);
  await waitStatus(page, 'connected');
  await own.stop('SIGKILL');
  await send(page, 'survives an outage');
  await page.waitFor(() => document.querySelector('#chat-outbox [data-state="pending"]'));
  await page.waitFor(() => document.querySelector('#chat-outbox [data-state="failed"]'), null, { timeout: 20000 });
  // The page saw the server go: "connected" below is then the new server's, not the old one's.
  await page.waitFor(() => document.getElementById('chat-status').textContent !== 'connected', null, { timeout: 20000 });
  own = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0', '--port', String(port)] });
  await waitStatus(page, 'connected', 60000);
  await nudge(page);
  await clickTarget(page, 'retry:*');
  await waitLog(page, 'alice: survives an outage');
  // The live copy can show before the send's answer takes it out of the outbox.
  await page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);
  assert.equal(await count(page, 'alice: survives an outage'), 1);
  const token = await login(own.base, 'bob');
  const hist = await api(own.base, token, 'GET', '/conversation/detail?conversationId=demo');
  assert.equal(hist.json.messages.filter((m) => m.text === 'survives an outage').length, 1);
  await context.close();
  await own.stop();
});

test('attachment round trip: pick a file, upload, message carries the link, the link serves the bytes', async () => {
  const alice = await openChat(browser, stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  const bytes = Buffer.from('hello attachment \u2713');
  // The file picker's result, as the browser hands it to the page's <input type=file>.
  await alice.page.setFiles('#attach', { name: 'notes.txt', mimeType: 'text/plain', buffer: bytes });
  await bob.page.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')].some((e) => e.textContent === 'alice: '));
  const token = await login(stub.base, 'bob');
  const hist = await api(stub.base, token, 'GET', '/conversation/detail?conversationId=demo');
  const msg = hist.json.messages.reverse().find((m) => m.attachment);
  assert.equal(msg.attachment.name, 'notes.txt');
  assert.equal(msg.attachment.size, bytes.length);
  const file = await fetch(stub.base + msg.attachment.url);
  assert.equal(file.status, 200);
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), bytes);
  // The app uploaded it itself (C++, emscripten fetch): no bearer token was handed to the page's
  // scripts, nothing on Module.chat or window holds one.
  const leaks = await alice.page.evaluate(() => {
    const jwt = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;
    const found = [];
    const walk = (v, path, depth) => {
      if (typeof v === 'string') { if (jwt.test(v)) found.push(path); return; }
      if (!v || typeof v !== 'object' || depth > 3 || ArrayBuffer.isView(v) || v instanceof Node) return;
      for (const k of Object.keys(v)) walk(v[k], `${path}.${k}`, depth + 1);
    };
    walk(Module.chat, 'Module.chat', 0);
    for (const k of Object.keys(window)) { try { if (typeof window[k] === 'string') walk(window[k], k, 0); } catch { /* cross-origin */ } }
    return { found, setSession: typeof Module.chat.setSession };
  });
  assert.deepEqual(leaks, { found: [], setSession: 'undefined' });
  await alice.context.close();
  await bob.context.close();
});

// A file over the backend's attachment limit (GET /config maxAttachmentBytes) is refused in the
// page before it is read: a multi-gigabyte pick must not be copied into the tab's memory (and the
// wasm heap) only to be refused by the upload. The user reads why, on the canvas and in the
// mirror's alert; a file within the limit still goes.
test('a file over the attachment limit is refused before it is read, and the user reads why', async () => {
  const own = await startStub({ args: ['--send-rate', '0', '--max-blob-bytes', '2048'] });
  try {
    const alice = await openChat(browser, own.base, 'alice');
    const page = alice.page;
    await page.waitFor(() => Module.chat.maxFileBytes === 2048);
    // Counts every read of a picked file's contents.
    await page.evaluate(() => {
      window.__reads = 0;
      const read = Blob.prototype.arrayBuffer;  // File inherits it
      Blob.prototype.arrayBuffer = function (...a) { window.__reads++; return read.apply(this, a); };
    });
    await page.setFiles('#attach', { name: 'большой.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(5000, 7) });
    await page.waitFor(() => document.getElementById('chat-error').textContent !== '');
    assert.equal(await page.evaluate(() => document.getElementById('chat-error').textContent),
      '\u201cбольшой.bin\u201d is 4.9 KB; an attachment can be at most 2.0 KB.');
    assert.equal(await page.evaluate(() => document.getElementById('chat-error').getAttribute('role')), 'alert');
    assert.equal(await page.evaluate(() => window.__reads), 0, 'the page read a file it was going to refuse');
    // A file the page could not read (its read failed) is never uploaded, whatever its name: the
    // app fails closed, even when the name is too long to pass through whole.
    await page.evaluate(() => { Module.chat.files.push({ name: '\u0001'.repeat(255), type: '', size: 10, bytes: null }); Module.chat.wake = 3; });
    await page.waitFor(() => /^Could not read \u201c/.test(document.getElementById('chat-error').textContent));
    // The same refusal twice is announced twice (the alert is emptied, then set again).
    await page.evaluate(() => { window.__alerts = []; new MutationObserver(() => window.__alerts.push(document.getElementById('chat-error').textContent))
      .observe(document.getElementById('chat-error'), { childList: true, characterData: true, subtree: true }); });
    // (One pick after the other, as a person picks: two picks inside one frame are one refusal.)
    const refusal = '\u201cбольшой.bin\u201d is 4.9 KB; an attachment can be at most 2.0 KB.';
    await page.setFiles('#attach', { name: 'большой.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(5000, 7) });
    await page.waitFor((t) => window.__alerts.filter((a) => a === t).length >= 1, refusal);
    await page.setFiles('#attach', { name: 'большой.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(5000, 7) });
    await page.waitFor((t) => window.__alerts.filter((a) => a === t).length >= 2, refusal);
    // Within the limit: read once, uploaded, sent; the error line clears.
    const small = Buffer.from('fits \u2713');
    await page.setFiles('#attach', { name: 'small.txt', mimeType: 'text/plain', buffer: small });
    await page.waitFor(() => document.getElementById('chat-error').textContent === '');
    await page.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')].some((e) => e.textContent === 'alice: '));
    assert.equal(await page.evaluate(() => window.__reads), 1);
    const token = await login(own.base, 'alice');
    const hist = await api(own.base, token, 'GET', '/conversation/detail?conversationId=demo');
    const sent = hist.json.messages.filter((m) => m.attachment);
    assert.deepEqual(sent.map((m) => [m.attachment.name, m.attachment.size]), [['small.txt', small.length]]);
    assert.deepEqual(await page.pageErrors(), []);
    await alice.context.close();
  } finally { await own.stop(); }
});

// A tab left open past its session (dev-login tokens live --session-ttl seconds): the first
// request answered 401 signs in again, once, and goes again; nothing the user did is lost and
// no error shows. Chat (a send), the access URL (a forced reconnect) and the feed (mark all read)
// all renew through the one session.
test('an expired session is renewed without the user noticing: send, reconnect and feed go on', async () => {
  const own = await startStub({ args: ['--send-rate', '0', '--session-ttl', '2'] });
  try {
    const alice = await openChat(browser, own.base, 'alice');
    const page = alice.page;
    await page.waitFor(() => /\d+ unread/.test(document.getElementById('feed-status').textContent));
    await sleep(3500);  // past the 2 s session, as a tab left open overnight is past its 12 hours
    await send(page, 'after the session expired');
    await page.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')].some((e) => e.textContent === 'alice: after the session expired'));
    await page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);
    const token = await login(own.base, 'bob');
    const hist = await api(own.base, token, 'GET', '/conversation/detail?conversationId=demo');
    assert.equal(hist.json.messages.filter((m) => m.text === 'after the session expired').length, 1);
    // Expired again; the service closes alice's connection (not recoverable): the new access URL
    // needs a fresh session.
    await sleep(3500);
    assert.equal((await stubApi(own, 'POST', '/_stub/close?userId=alice')).status, 200);
    await page.waitFor(() => document.getElementById('chat-status').textContent !== 'connected');
    await waitLive(page);
    // Expired again: the feed's own request renews as well.
    await sleep(3500);
    await clickTarget(page, 'bell');
    await clickTarget(page, 'mark-all-read');
    const aliceToken = await login(own.base, 'alice');
    const serverUnread = async () => (await api(own.base, aliceToken, 'GET', '/notifications/unread-count')).json.unreadCount;
    for (const end = Date.now() + 15000; (await serverUnread()) !== 0 && Date.now() < end;) await sleep(100);
    assert.equal(await serverUnread(), 0);
    assert.equal(await page.evaluate(() => document.getElementById('chat-error').textContent), '');
    assert.ok(!/expired|error/i.test(await page.evaluate(() => document.getElementById('chat-status').textContent)));
    assert.deepEqual(await page.pageErrors(), []);
    await alice.context.close();
  } finally { await own.stop(); }
});

test('typing indicator reaches the other user; screenshots of the panel are not blank', async () => {
  const alice = await openChat(browser, stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  await alice.page.focus('#composer');
  await alice.page.type('hel');
  await bob.page.waitFor(() => document.getElementById('chat-typing').textContent === 'alice is typing');
  await bob.page.wait(300);
  assert.ok(notBlank(await bob.page.screenshot({ path: shot('panel.png') })));
  // The message itself ends the indicator.
  await alice.page.press('Enter');
  await waitLog(bob.page, 'alice: hel');
  await bob.page.waitFor(() => document.getElementById('chat-typing').textContent === '');
  await alice.context.close();
  await bob.context.close();
});

// A 4x2 PNG made by the browser itself (no binary fixture in the repository).
async function makePng(page) {
  return Buffer.from(await page.evaluate(async () => {
    const c = new OffscreenCanvas(4, 2);
    const g = c.getContext('2d');
    g.fillStyle = '#e33'; g.fillRect(0, 0, 2, 2); g.fillStyle = '#33e'; g.fillRect(2, 0, 2, 2);
    const blob = await c.convertToBlob({ type: 'image/png' });
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));
}

test('an image attachment shows a thumbnail that opens the file', async () => {
  const alice = await openChat(browser, stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  await alice.page.setFiles('#attach', { name: 'flag.png', mimeType: 'image/png', buffer: await makePng(alice.page) });
  await bob.page.waitFor(() => Object.keys(window.Module?.chat?.targets || {}).some((k) => k.startsWith('thumb:')),
    null, { timeout: 20000 });
  await bob.page.screenshot({ path: shot('thumbnail.png') });
  // A click on the thumbnail opens the file in a new window (not blocked as a popup). The user
  // looks at bob's window: it is in front.
  await bob.page.bringToFront();
  const opened = await bob.page.popup(() => clickTarget(bob.page, 'thumb:*'));
  assert.match(opened, /\/blobs\/blob_[0-9a-f]+\?exp=\d+&sig=/);
  await alice.context.close();
  await bob.context.close();
});

// Links expire (--blob-url-ttl); a page stays open for longer. Bob's link has expired when he
// clicks: the panel renews it (GET /chat/messages/{id}) and opens the file under the new one.
test('an attachment clicked after its link expired opens under a renewed link', async () => {
  const own = await startStub({ args: ['--send-rate', '0', '--blob-url-ttl', '15'] });
  try {
    const alice = await openChat(browser, own.base, 'alice');
    const bob = await openChat(browser, own.base, 'bob');
    await alice.page.setFiles('#attach', { name: 'flag.png', mimeType: 'image/png', buffer: await makePng(alice.page) });
    await bob.page.waitFor(() => Object.keys(window.Module?.chat?.targets || {}).some((k) => k.startsWith('thumb:')),
      null, { timeout: 20000 });
    // Every link bob's page was given lasts at most 18 s (15 s, rounded up to a quarter of it) and
    // has expired now (no renewal for a minute); the renewed one lasts 15 s or more, time enough
    // for a loaded machine to report the window.
    await sleep(19000);
    await bob.page.bringToFront();
    // The window the page opens in the click: whether it was cut from its opener, looked at once
    // the click's script has run (a closed window's opener reads null whatever it was).
    await bob.page.evaluate(() => {
      const open = window.open;
      window.open = function (...args) {
        const w = open.apply(this, args);
        if (w) queueMicrotask(() => { window.__openerCut = w.opener === null; });
        return w;
      };
    });
    const opened = await bob.page.popup(() => clickTarget(bob.page, 'thumb:*'));
    assert.equal(await bob.page.evaluate(() => window.__openerCut), true, 'the new window has no way back to the chat');
    const exp = Number(opened.match(/[?&]exp=(\d+)/)?.[1]);
    assert.ok(exp * 1000 > Date.now(), `the window got a link that has not expired: ${opened}`);
    const r = await fetch(new URL(opened, own.base));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(await bob.page.evaluate(() => document.getElementById('chat-error').textContent), '');
    await alice.context.close();
    await bob.context.close();
  } finally { await own.stop(); }
});

test('two tabs of the same user: one toast per notification; the theme follows the system', async (t) => {
  const dark = browser.can.colorScheme === true ? 'dark' : undefined;
  if (!dark) need(t, browser, 'colorScheme', 'open the tabs in a dark system theme');
  const context = await browser.newContext({ colorScheme: dark });
  const tabs = [];
  for (let i = 0; i < 2; i++) {
    const page = await context.newPage();
    await page.goto(`${stub.base}/?user=carol`);
    await waitLive(page);
    await page.waitFor(() => /unread/.test(document.getElementById('feed-status').textContent));
    tabs.push(page);
  }
  // Both tabs' sockets are in carol's notification group (a fixed second was a guess).
  const joined = async () => (await stubApi(stub, 'GET', '/_stub/state')).json.connections
    .filter((c) => c.userId === 'carol' && c.attached && c.groups.includes('notifications:user:carol')).length;
  for (const end = Date.now() + 20000; (await joined()) !== 2 && Date.now() < end;) await sleep(100);
  assert.equal(await joined(), 2, 'both tabs are in the notification group');
  // Every toast a tab draws, frame by frame: a toast lasts 6 s, and a look at the end (after the
  // other tab was brought to the front) could miss it on a loaded machine.
  for (const p of tabs) {
    await p.evaluate(() => {
      const c = Module.chat;
      let current = c.targets;
      window.__toasts = [];
      Object.defineProperty(c, 'targets', {
        configurable: true,
        get: () => current,
        set: (v) => {
          current = v;
          for (const k of Object.keys(v || {})) if (k.startsWith('toast:') && !window.__toasts.includes(k)) window.__toasts.push(k);
        },
      });
    });
  }
  const id = `tabs-${Date.now()}`;
  const alice = await login(stub.base, 'alice');
  await api(stub.base, alice, 'POST', '/notifications', { id, title: 'Only once', target: { kind: 'user', id: 'carol' } });
  for (const p of tabs) await p.waitFor((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`), id);
  // Each tab, in front, draws a frame after the notification reached it (its toast, if it has
  // one, is drawn then at the latest).
  for (const p of tabs) {
    await p.bringToFront();
    const f = await p.evaluate(() => Module.chat.frames);
    await nudge(p);
    await p.waitFor((n) => Module.chat.frames > n, f);
  }
  const shown = [];
  for (const p of tabs) shown.push(await p.evaluate((n) => window.__toasts.includes(`toast:${n}`), id));
  assert.deepEqual(shown.filter(Boolean).length, 1, `toast shown in exactly one tab (${shown})`);
  if (dark) {
    const before = await tabs[0].pixel(600, 400);
    assert.ok(before[0] < 80, `a dark background in a dark system theme (${before})`);
    if (need(t, browser, 'liveColorScheme', 'switch the system theme to light while the page is open')) {
      // The canvas background follows without a reload.
      await context.setColorScheme('light');
      // The switch reaches the page as an event and the canvas in a later frame: look until it
      // shows (bounded), not once after a fixed pause.
      let after = before;
      for (const end = Date.now() + 15000; !(after[0] > 180) && Date.now() < end;) {
        await nudge(tabs[0]);
        after = await tabs[0].pixel(600, 400);
      }
      assert.ok(after[0] > 180, `light after the switch (${before} -> ${after})`);
    } else {
      // The engine takes the system theme at start: a light one draws a light panel.
      const light = await browser.newContext();
      const page = await light.newPage();
      await page.goto(`${stub.base}/?user=carol`);
      await waitLive(page);
      await nudge(page);
      await settled(page);
      const px = await page.pixel(600, 400);
      assert.ok(px[0] > 180, `a light background in a light system theme (${px})`);
      await light.close();
    }
  }
  await context.close();
});
