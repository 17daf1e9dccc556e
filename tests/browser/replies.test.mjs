// Replies and read receipts between two pages in every engine (issue 18): alice replies from the
// canvas row's Reply action, bob sees the quote live and jumps to a parent older than his loaded
// pages; "Seen by" follows alice's reading live and after she was away; everything is there
// again after a reload and a server restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, clickTarget, findTarget, drawingSettled, waitLive } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const idOf = (page, line, timeout = 30000) => page.waitFor((l) =>
  [...document.querySelectorAll('#chat-log [data-message-id]')].find((e) => e.textContent === l)?.dataset.messageId, line, { timeout });
const waitStatus = (page, s, timeout = 60000) => page.waitFor((x) => document.getElementById('chat-status').textContent === x, s, { timeout });
// A reply's mirror article: the message it answers (data-reply-to) and what its quote says.
const waitReply = (page, id, parent, quote, timeout = 30000) => page.waitFor(([i, p, q]) => {
  const a = document.querySelector(`#chat-log [data-target="msg:${CSS.escape(i)}"]`);
  const b = a?.querySelector(`[data-target="quote:${CSS.escape(i)}"]`);
  return a && a.dataset.replyTo === p && b && b.textContent === 'Replying to ' + q;
}, [id, parent, quote], { timeout });
// "Seen by ..." (#chat-seen) and the message it is under.
const waitSeen = (page, text, id, timeout = 30000) => page.waitFor(([t, i]) => {
  const s = document.getElementById('chat-seen');
  return s.textContent === t && s.dataset.messageId === i;
}, [text, id], { timeout });

async function send(page, text) {
  await page.focus('#composer');
  await page.type(text);
  await page.press('Enter');
}

test(`${ENGINE}: a reply quotes its message live and after a reload, the quote jumps to an older page, Seen by follows reading`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-replies-'));
  let stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0'] });
  const port = stub.port;
  try {
    const alice = await openChat(browser, stub.base, 'alice');
    const bob = await openChat(browser, stub.base, 'bob');
    const stamp = Date.now().toString(36);

    // 1. bob asks; alice answers from the row's Reply action (canvas): the bar names bob.
    await send(bob.page, `question ${stamp}`);
    const question = await idOf(alice.page, `bob: question ${stamp}`);
    const [x, y] = await findTarget(alice.page, `text:${question}`);
    await drawingSettled(alice.page);
    await alice.page.move(x, y);
    await clickTarget(alice.page, `reply:${question}`);
    await findTarget(alice.page, 'replying');
    await alice.page.waitFor(() => document.activeElement?.id === 'composer');
    await alice.page.type(`answer ${stamp}`);
    await alice.page.press('Enter');
    const answer = await idOf(bob.page, `alice: answer ${stamp}`);
    await waitReply(bob.page, answer, question, `bob: question ${stamp}`);
    await waitReply(alice.page, answer, question, `bob: question ${stamp}`);

    // 2. Seen by: alice has read up to her answer; bob's page says so under it.
    await waitSeen(bob.page, 'Seen by alice', answer);
    //    alice closes the panel; bob writes on; his Seen by stays until she opens it again.
    await clickTarget(alice.page, 'close-chat');
    await waitStatus(alice.page, 'closed');
    await send(bob.page, `while you were away ${stamp}`);
    const away = await idOf(bob.page, `bob: while you were away ${stamp}`);
    await waitSeen(bob.page, 'Seen by alice', answer);
    await clickTarget(alice.page, 'open-chat');
    await waitLive(alice.page);
    await waitSeen(bob.page, 'Seen by alice', away);

    // 3. Sixty more messages (bob, through the API), so that after a reload bob's first page no
    //    longer holds the question: the quote is fetched, and a click pages back to it.
    const token = await login(stub.base, 'bob');
    for (let i = 0; i < 60; i++) {
      const r = await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: `filler ${i} ${stamp}` });
      assert.equal(r.status, 201, r.text);
    }
    const quoted = await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: `late reply ${stamp}`, replyTo: question });
    assert.equal(quoted.status, 201, quoted.text);
    const late = quoted.json.message.messageId;
    await bob.page.reload();
    await waitLive(bob.page);
    await waitReply(bob.page, late, question, `bob: question ${stamp}`);  // fetched: not in the first page
    assert.equal(await bob.page.evaluate((q) => !!document.querySelector(`#chat-log [data-target="msg:${CSS.escape(q)}"]`), question), false);
    await clickTarget(bob.page, `quote:${late}`);
    await bob.page.waitFor((q) => !!document.querySelector(`#chat-log [data-target="msg:${CSS.escape(q)}"]`), question, { timeout: 30000 });
    await findTarget(bob.page, `text:${question}`, { timeout: 30000 });  // drawn: in view
    //    The keyboard path: the mirror's quote button does the same (here: back to the answer's parent).
    await bob.page.evaluate((i) => document.querySelector(`#chat-log [data-target="quote:${CSS.escape(i)}"]`).click(), answer);
    await findTarget(bob.page, `text:${question}`, { timeout: 30000 });

    // 4. A server restart and a reload: the links and the read positions are stored.
    await stub.stop();
    stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0', '--port', String(port)] });
    await alice.page.reload();
    await waitLive(alice.page);
    await waitReply(alice.page, late, question, `bob: question ${stamp}`);
    await bob.page.reload();
    await waitLive(bob.page);
    await waitSeen(bob.page, 'Seen by alice', late);  // alice's reload read everything
    assert.deepEqual(await alice.page.pageErrors(), []);
    assert.deepEqual(await bob.page.pageErrors(), []);
    await alice.context.close();
    await bob.context.close();
  } finally {
    await stub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
