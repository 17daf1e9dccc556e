// The keyboard and the accessible mirror (issue 13) in the engine named by ENGINE: every canvas
// action is reachable from the keyboard and from the mirror (the hidden DOM screen readers read):
// Copy a message, open an attachment, Retry a failed send, mark a notification read, and the
// New conversation picker; the canvas draws the design tokens' focus ring around the item the
// mirror's keyboard focus stands for (checked in the screenshot's pixels); the mirror's times are
// relative like the canvas's ("now", "5 min") with the full time alongside.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api } from '../lib/stub.mjs';
import { launch, waitLive, findTarget } from '../lib/browser.mjs';
import { decodePng, encodePng } from '../lib/png.mjs';

let stub;
let browser;
let alice;
before(async () => {
  stub = await startStub({ args: ['--send-rate', '0', '--create-rate', '0'] });
  browser = await launch();
  alice = await login(stub.base, 'alice');
});
after(async () => { await browser?.close(); await stub?.stop(); });

const FOCUS = { light: [0x0b, 0x5c, 0xad], dark: [0x79, 0xb8, 0xff] };  // src/ui/theme.cpp palettes: focus
const active = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return a ? { id: a.id, target: a.dataset?.target || '' } : {};
});
const say = (conversationId, message, extra = {}) =>
  api(stub.base, alice, 'POST', '/chat/reply', { conversationId, message, clientMessageId: `kb-${Date.now()}-${Math.random()}`, ...extra });
const articleOf = (page, text) => page.waitFor((t) => {
  const el = [...document.querySelectorAll('#chat-log [data-message-id]')].find((e) => e.textContent === t);
  return el ? el.dataset.messageId : null;
}, text);

// Waits until the canvas draws the focus ring centred on `name`'s item (a ring drawn before,
// around the previously focused item, is not it); returns both boxes.
async function ringOn(page, name) {
  try {
    return await page.waitFor((n) => {
      const [r, c] = [Module.chat.targets['focus-ring'], Module.chat.targets[n]];
      return r && c && Math.abs(r[0] - c[0]) < 1 && Math.abs(r[1] - c[1]) < 1 ? { ring: r, item: c } : null;
    }, name);
  } catch (e) {
    const now = await page.evaluate((n) => [Module.chat.targets['focus-ring'], Module.chat.targets[n]], name);
    throw new Error(`the focus ring is not on ${name}: ring ${JSON.stringify(now[0])}, item ${JSON.stringify(now[1])} (${e.message})`);
  }
}

async function open(user, query = '') {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=${user}${query}`);
  await waitLive(page);
  return { page, context };
}

// How many pixels on the ring's left edge (a few columns around it, at its middle) have the
// palette's focus colour.
async function ringPixels(page, ring) {
  const light = await page.evaluate(() => matchMedia('(prefers-color-scheme: light)').matches);
  const want = FOCUS[light ? 'light' : 'dark'];
  const img = decodePng(await page.screenshot());
  const dpr = img.width / (await page.evaluate(() => innerWidth));
  const [cx, cy, w, h] = ring;
  const x0 = (cx - w / 2) * dpr;
  let hits = 0;
  for (let dy = -Math.floor(h * dpr / 4); dy <= Math.floor(h * dpr / 4); dy++)
    for (let x = Math.floor(x0 - 2); x <= Math.ceil(x0 + 3); x++) {
      const px = img.pixel(x, Math.round(cy * dpr + dy));
      if (Math.abs(px[0] - want[0]) + Math.abs(px[1] - want[1]) + Math.abs(px[2] - want[2]) <= 60) hits++;
    }
  return hits;
}

test('Tab from the composer reaches New conversation; the canvas rings it in the focus colour; Enter opens the picker', async (t) => {
  const { page, context } = await open('alice');
  t.after(() => context.close());
  await page.waitFor(() => document.activeElement?.id === 'composer');
  const plus = await findTarget(page, 'new-conversation');
  const unringed = await ringPixels(page, [plus[0], plus[1], plus[2] + 6, plus[3] + 6]);
  await page.press('Tab');
  await page.waitFor(() => document.activeElement?.id === 'new-conv-open');
  const ring = await findTarget(page, 'focus-ring');
  // Around the button, a few pixels out.
  assert.ok(ring[0] - ring[2] / 2 < plus[0] - plus[2] / 2 && ring[0] + ring[2] / 2 > plus[0] + plus[2] / 2, `ring ${ring} around ${plus}`);
  assert.ok(ring[1] - ring[3] / 2 < plus[1] - plus[3] / 2 && ring[1] + ring[3] / 2 > plus[1] + plus[3] / 2, `ring ${ring} around ${plus}`);
  const ringed = await ringPixels(page, ring);
  assert.ok(ringed >= 3, `the ring is drawn in the focus colour (${ringed} pixels)`);
  assert.ok(unringed < ringed, `and was not there before (${unringed} pixels)`);
  // Enter on the focused control does what a click on the canvas item does.
  await page.press('Enter');
  await page.waitFor(() => !document.getElementById('new-conv').hidden && document.activeElement?.id === 'new-conv-title');
  await findTarget(page, 'pick:bob');
  // Esc in the title field leaves the picker; the focus goes back to writing.
  await page.press('Escape');
  await page.waitFor(() => document.getElementById('new-conv').hidden);
  await page.waitFor(() => !Object.keys(Module.chat.targets).includes('pick:bob'));
  await page.waitFor(() => document.activeElement?.id === 'composer');
  // Focus leaving the mirror takes the ring away.
  await page.waitFor(() => !('focus-ring' in Module.chat.targets));
  assert.deepEqual(await page.pageErrors(), []);
});

test('the mirror does what the canvas does: Copy (and moving between messages), open an attachment, mark a notification read', async (t) => {
  const first = `first line ${Date.now()}`;
  const second = `copy me ${Date.now()}`;
  await say('demo', first);
  await say('demo', second);
  const { page, context } = await open('bob');
  t.after(() => context.close());
  const firstId = await articleOf(page, `alice: ${first}`);
  const secondId = await articleOf(page, `alice: ${second}`);
  // The log is one tab stop: it lands on the newest message; its buttons follow it.
  await page.focus('#chat-log');
  await page.waitFor((id) => document.activeElement?.dataset.target === `msg:${id}`, secondId);
  await findTarget(page, 'focus-ring');
  await page.press('ArrowUp');
  await page.waitFor((id) => document.activeElement?.dataset.target === `msg:${id}`, firstId);
  await findTarget(page, `msg:${firstId}`);
  await page.press('ArrowDown');
  await page.waitFor((id) => document.activeElement?.dataset.target === `msg:${id}`, secondId);
  await page.press('Tab');
  assert.equal((await active(page)).target, `copy:${secondId}`);
  // The canvas shows the row's actions while the keyboard is on it, and rings Copy. (The ring
  // and Copy were both drawn already, the ring around the message: wait for a frame that moved
  // it, not just any ring.)
  await findTarget(page, `copy:${secondId}`);
  await ringOn(page, `copy:${secondId}`);
  await page.press('Enter');
  await page.waitFor((x) => Module.chat.clipboard === x, second);

  // An attachment: its button opens the file in a new window (within the key press: a gesture).
  // (An image: the stub serves it inline, where another file would be a download, not a window.)
  const png = encodePng({ width: 2, height: 2, data: Buffer.alloc(16, 200) });
  const up = await fetch(`${stub.base}/blobs?name=dot.png`, { method: 'POST', headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'image/png' }, body: png });
  assert.ok(up.status === 201 || up.status === 200, await up.clone().text());
  const blob = await up.json();
  const r = await say('demo', '', { attachment: { url: blob.url, name: 'dot.png', contentType: 'image/png', size: png.length } });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  const attId = r.json.message.messageId;
  await page.waitFor((id) => document.querySelector(`#chat-log [data-target="attachment:${id}"]`), attId);
  await page.focus(`#chat-log [data-target="msg:${attId}"]`);
  await page.press('Tab');
  assert.equal((await active(page)).target, `attachment:${attId}`);
  await findTarget(page, `attachment:${attId}`);
  await page.bringToFront?.();
  const opened = await page.popup(() => page.press('Enter'));
  assert.match(opened, /\/blobs\/blob_[0-9a-f]+\?exp=\d+&sig=/);
  // The window it opened is gone: the user is back at bob's (a covered Firefox window is hidden
  // and draws nothing).
  await page.bringToFront?.();
  await page.waitFor(() => document.visibilityState === 'visible');

  // A notification: the focus on its mirror item opens the feed on the canvas and rings the
  // item's Mark read; Enter marks it read.
  const id = `kb-note-${Date.now()}`;
  assert.equal((await api(stub.base, alice, 'POST', '/notifications', { id, title: 'Keyboard check', body: 'Read me with Enter', target: { kind: 'user', id: 'bob' } })).status, 201);
  await page.waitFor((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`)?.dataset.read === 'false', id);
  await page.focus(`#feed-list [data-notification-id="${id}"]`);
  await findTarget(page, `mark-read:${id}`);
  await ringOn(page, `mark-read:${id}`);
  await page.press('Enter');
  await page.waitFor((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`)?.dataset.read === 'true', id);
  // The keyboard stays on the item, read now (its card is what the ring shows).
  assert.equal((await active(page)).target, `feed-item:${id}`);
  await page.waitFor((n) => {
    const [r, c] = [Module.chat.targets['focus-ring'], Module.chat.targets[`feed-item:${n}`]];
    return r && c && Math.abs(r[0] - c[0]) < 1 && Math.abs(r[1] - c[1]) < 1;
  }, id);
  // Leaving the feed's items (back to the messages) closes the feed the focus opened.
  await page.focus('#chat-log');
  await page.waitFor(() => !Object.keys(Module.chat.targets).some((k) => k.startsWith('feed-item:')));
  await page.waitFor(() => document.activeElement?.dataset.target?.startsWith('msg:'));
  assert.deepEqual(await page.pageErrors(), []);
});

test('the mirror: Retry a failed send, and New conversation without the canvas', async (t) => {
  const { page, context } = await open('bob', '&sendRetryWindowMs=500');
  t.after(() => context.close());
  // Sends fail for a while: the page's requests to /chat/reply go to a closed port.
  await page.evaluate(() => {
    const open = XMLHttpRequest.prototype.open;
    window.__failReplies = true;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      if (window.__failReplies && String(url).includes('/chat/reply')) url = 'http://127.0.0.1:9/chat/reply';
      return open.call(this, method, url, ...rest);
    };
  });
  const text = `retry me ${Date.now()}`;
  await page.focus('#composer');
  await page.type(text);
  await page.press('Enter');
  await page.waitFor(() => document.querySelector('#chat-outbox [data-state="failed"] button[data-target^="retry:"]'), null, { timeout: 20000 });
  await page.evaluate(() => { window.__failReplies = false; });
  await page.focus('#chat-outbox [data-state="failed"] button');
  await findTarget(page, 'focus-ring');
  await page.press('Enter');
  await page.waitFor((x) => [...document.querySelectorAll('#chat-log [data-message-id]')].filter((e) => e.textContent === x).length === 1, `bob: ${text}`);
  await page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);

  // New conversation through the mirror's dialog only.
  await page.focus('#new-conv-open');
  await page.press('Enter');
  await page.waitFor(() => !document.getElementById('new-conv').hidden && document.querySelector('#new-conv-people [data-user-id="carol"]'));
  await page.focus('#new-conv-people [data-user-id="carol"]');
  await findTarget(page, 'focus-ring');
  await page.press('Enter');
  await page.waitFor(() => document.querySelector('#new-conv-people [data-user-id="carol"]').getAttribute('aria-pressed') === 'true');
  // The focus stays on the member across the list's update.
  assert.equal((await active(page)).target, 'pick:carol');
  await page.focus('#new-conv [data-target="create-conversation"]');
  await page.press('Enter');
  await page.waitFor(() => document.getElementById('chat-title').textContent === 'Carol Diaz');
  await page.waitFor(() => document.getElementById('new-conv').hidden);
  await waitLive(page);
  assert.deepEqual(await page.pageErrors(), []);
});

test('relative times in the mirror: "now", then "5 min" as the clock moves, the full time alongside', async (t) => {
  const { page, context } = await open('carol');
  t.after(() => context.close());
  const text = `clock check ${Date.now()}`;
  await say('demo', text);
  const id = await articleOf(page, `alice: ${text}`);
  const time = (m) => page.evaluate((x) => {
    const el = document.querySelector(`#chat-log [data-target="msg:${x}"] time`);
    return el ? { text: el.textContent, full: el.dataset.full, title: el.title, iso: el.dateTime } : null;
  }, m);
  const t0 = await time(id);
  assert.equal(t0.text, 'now');
  assert.match(t0.full, /^[A-Z][a-z]{2} \d{2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$/);
  assert.equal(t0.title, t0.full);
  assert.ok(!Number.isNaN(Date.parse(t0.iso)));
  // Five minutes later (the page's clock moved on): the label follows, like the canvas's.
  await page.evaluate(() => { const now = Date.now.bind(Date); Date.now = () => now() + 5 * 60000; });
  await say('demo', `later ${Date.now()}`);
  await page.waitFor((x) => document.querySelector(`#chat-log [data-target="msg:${x}"] time`)?.textContent === '5 min', id);
  assert.equal((await time(id)).full, t0.full);
});
