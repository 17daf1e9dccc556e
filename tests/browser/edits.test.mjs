// Edits and deletes between two pages in every engine (issue 18): alice edits with Up in the
// composer and deletes from the canvas (with its confirmation); bob sees both live, after a
// reconnect that missed them (the changedAfter catch-up), after a reload and after a server restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, clickTarget, findTarget, drawingSettled, waitLive } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// A message's mirror article as the page shows it: its text line and its data-edited/-deleted.
const article = (page, id) => page.evaluate((i) => {
  const a = document.querySelector(`#chat-log [data-target="msg:${CSS.escape(i)}"]`);
  if (!a) return null;
  return { text: a.querySelector('[data-message-id]').textContent, edited: a.dataset.edited === 'true', deleted: a.dataset.deleted === 'true' };
}, id);
const waitArticle = (page, id, want, timeout = 30000) => page.waitFor(([i, w]) => {
  const a = document.querySelector(`#chat-log [data-target="msg:${CSS.escape(i)}"]`);
  return a && a.querySelector('[data-message-id]').textContent === w.text &&
    (a.dataset.edited === 'true') === w.edited && (a.dataset.deleted === 'true') === w.deleted;
}, [id, want], { timeout });
// The id of the message whose mirror line is `line` (waits for it).
const idOf = (page, line, timeout = 30000) => page.waitFor((l) =>
  [...document.querySelectorAll('#chat-log [data-message-id]')].find((e) => e.textContent === l)?.dataset.messageId, line, { timeout });
const waitStatus = (page, s, timeout = 60000) => page.waitFor((x) => document.getElementById('chat-status').textContent === x, s, { timeout });

async function send(page, text) {
  await page.focus('#composer');
  await page.type(text);
  await page.press('Enter');
}

// Over a row the canvas shows its actions (hover); then the named one is clicked.
async function rowAction(page, id, action) {
  const [x, y] = await findTarget(page, `text:${id}`);
  await drawingSettled(page);
  await page.move(x, y);
  await clickTarget(page, `${action}:${id}`);
}

test(`${ENGINE}: edit and delete reach the other member live, after a missed reconnect, a reload and a restart`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-edits-'));
  let stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0'] });
  const port = stub.port;
  try {
    const alice = await openChat(browser, stub.base, 'alice');
    const bob = await openChat(browser, stub.base, 'bob');
    const stamp = Date.now().toString(36);

    // 1. alice sends, then edits with Up in the empty composer (the text comes back, End, type, Enter).
    await send(alice.page, `first draf ${stamp}`);
    const first = await idOf(bob.page, `alice: first draf ${stamp}`);
    await alice.page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);
    await alice.page.focus('#composer');
    await alice.page.press('ArrowUp');
    await alice.page.waitFor((i) => document.getElementById('composer').dataset.editing === i, first);
    assert.equal(await alice.page.value('#composer'), `first draf ${stamp}`);
    await alice.page.press('End');
    await alice.page.type('t!');
    await alice.page.press('Enter');
    const edited = { text: `alice: first draf ${stamp}t! (edited)`, edited: true, deleted: false };
    await waitArticle(bob.page, first, edited);
    await waitArticle(alice.page, first, edited);
    assert.equal(await alice.page.evaluate(() => 'editing' in document.getElementById('composer').dataset), false, 'the edit ended');

    // 2. A second message: Delete asks first (Cancel keeps it), then Delete removes it for everyone.
    await send(alice.page, `to be deleted ${stamp}`);
    const second = await idOf(bob.page, `alice: to be deleted ${stamp}`);
    await alice.page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);
    await rowAction(alice.page, second, 'delete');
    await alice.page.waitFor(() => !document.getElementById('chat-dialog').hidden);
    assert.match(await alice.page.text('#chat-dialog [data-role=text]'), new RegExp(`to be deleted ${stamp}`));
    await clickTarget(alice.page, 'cancel-delete');
    await alice.page.waitFor(() => document.getElementById('chat-dialog').hidden);
    assert.deepEqual(await article(alice.page, second), { text: `alice: to be deleted ${stamp}`, edited: false, deleted: false });
    await rowAction(alice.page, second, 'delete');
    await clickTarget(alice.page, 'confirm-delete');
    const tomb = { text: 'alice: Message deleted', edited: false, deleted: true };
    await waitArticle(bob.page, second, tomb);
    await waitArticle(alice.page, second, tomb);
    // bob cannot edit or delete alice's message: his mirror offers neither.
    assert.equal(await bob.page.evaluate((i) => document.querySelector(`#chat-log [data-target="edit:${CSS.escape(i)}"]`), first), null);

    // 3. bob closes the panel (no connection), alice edits again through the mirror's Edit button
    //    (keyboard users' path), bob opens it: the catch-up brings the edit he missed.
    await clickTarget(bob.page, 'close-chat');
    await waitStatus(bob.page, 'closed');
    await alice.page.evaluate((i) => document.querySelector(`#chat-log [data-target="edit:${CSS.escape(i)}"]`).click(), first);
    await alice.page.waitFor((i) => document.getElementById('composer').dataset.editing === i, first);
    await alice.page.waitFor(() => document.activeElement?.id === 'composer');  // the edit takes the keyboard
    assert.equal(await alice.page.value('#composer'), `first draf ${stamp}t!`);
    await alice.page.evaluate(() => { const c = document.getElementById('composer'); c.value = ''; });
    await alice.page.type(`final words ${stamp}`);
    await alice.page.press('Enter');
    const final = { text: `alice: final words ${stamp} (edited)`, edited: true, deleted: false };
    await waitArticle(alice.page, first, final);
    await clickTarget(bob.page, 'open-chat');
    await waitLive(bob.page);
    await waitArticle(bob.page, first, final);
    await waitArticle(bob.page, second, tomb);

    // 4. A reload and a server restart: the history has the edit and the tombstone.
    await bob.page.reload();
    await waitLive(bob.page);
    await waitArticle(bob.page, first, final);
    await waitArticle(bob.page, second, tomb);
    await stub.stop();
    stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0', '--port', String(port)] });
    await bob.page.reload();
    await waitLive(bob.page);
    await waitArticle(bob.page, first, final);
    await waitArticle(bob.page, second, tomb);
    assert.deepEqual(await alice.page.pageErrors(), []);
    assert.deepEqual(await bob.page.pageErrors(), []);
    await alice.context.close();
    await bob.context.close();
  } finally {
    await stub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${ENGINE}: reactions from the canvas picker and the mirror reach the other member, and stay after a reload`, async () => {
  const stub = await startStub({ args: ['--send-rate', '0'] });
  try {
    const alice = await openChat(browser, stub.base, 'alice');
    const bob = await openChat(browser, stub.base, 'bob');
    const stamp = Date.now().toString(36);
    await send(alice.page, `react to this ${stamp}`);
    const id = await idOf(bob.page, `alice: react to this ${stamp}`);
    const thumbs = '\u{1F44D}', party = '\u{1F389}';
    const reactions = (page) => page.evaluate((i) =>
      document.querySelector(`#chat-log [data-target="msg:${CSS.escape(i)}"]`)?.dataset.reactions ?? '', id);
    const waitReactions = (page, want) => page.waitFor(([i, w]) =>
      (document.querySelector(`#chat-log [data-target="msg:${CSS.escape(i)}"]`)?.dataset.reactions ?? '') === w, [id, want], { timeout: 30000 });

    // bob: the row's React action opens the picker on the canvas; 👍 is one tap.
    await rowAction(bob.page, id, 'reactions');
    await clickTarget(bob.page, `pick-reaction:${thumbs}`);
    await waitReactions(alice.page, `${thumbs}:1`);
    await waitReactions(bob.page, `${thumbs}:1`);
    // alice, from the keyboard's mirror: her own 👍 through the chip's button, then 🎉 from the picker.
    await alice.page.evaluate(([i, e]) => document.querySelector(`#chat-log [data-target="react:${CSS.escape(i)}:${e}"]`).click(), [id, thumbs]);
    await waitReactions(bob.page, `${thumbs}:2`);
    await alice.page.evaluate((i) => document.querySelector(`#chat-log [data-target="reactions:${CSS.escape(i)}"]`).click(), id);
    await alice.page.waitFor(() => !document.getElementById('reaction-picker').hidden);
    await alice.page.evaluate((e) => document.querySelector(`#reaction-picker [data-target="pick-reaction:${e}"]`).click(), party);
    await waitReactions(bob.page, `${thumbs}:2,${party}:1`);
    await alice.page.waitFor(() => document.getElementById('reaction-picker').hidden);
    assert.equal(await alice.page.evaluate(([i, e]) =>
      document.querySelector(`#chat-log [data-target="react:${CSS.escape(i)}:${e}"]`).getAttribute('aria-pressed'), [id, thumbs]), 'true');
    // bob takes his back by clicking the chip on the canvas.
    await clickTarget(bob.page, `react:${id}:${thumbs}`);
    await waitReactions(alice.page, `${thumbs}:1,${party}:1`);
    await bob.page.reload();
    await waitLive(bob.page);
    await waitReactions(bob.page, `${thumbs}:1,${party}:1`);
    assert.equal(await reactions(alice.page), `${thumbs}:1,${party}:1`);
    assert.deepEqual(await alice.page.pageErrors(), []);
    assert.deepEqual(await bob.page.pageErrors(), []);
    await alice.context.close();
    await bob.context.close();
  } finally { await stub.stop(); }
});
