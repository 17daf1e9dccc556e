// Mentions in every engine (issue 18): "@" in alice's composer lists the conversation's members,
// the keyboard picks one, the message goes out; bob's feed gets the notification live, and its
// action opens the message (scrolled into view, also when it is older than bob's loaded page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, findTarget, waitLive } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const idOf = (page, line, timeout = 30000) => page.waitFor((l) =>
  [...document.querySelectorAll('#chat-log [data-message-id]')].find((e) => e.textContent === l)?.dataset.messageId, line, { timeout });

test(`${ENGINE}: @ completes a member, the mention notifies them, and its action opens the message`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const stub = await startStub({ args: ['--send-rate', '0'] });
  try {
    const alice = await openChat(browser, stub.base, 'alice');
    const bob = await openChat(browser, stub.base, 'bob');
    const stamp = Date.now().toString(36);

    // 1. "@b" lists bob (alice herself never); Enter puts "@bob " in; Enter then sends.
    await alice.page.waitFor(() => (Module.chat.members || []).includes('bob'));
    await alice.page.focus('#composer');
    await alice.page.type('look here @b');
    await alice.page.waitFor(() => !document.getElementById('mention-list').hidden);
    const options = await alice.page.evaluate(() => [...document.querySelectorAll('#mention-list [role=option]')].map((o) => o.textContent));
    assert.ok(options.includes('@bob'), `options: ${options}`);
    assert.ok(!options.includes('@alice'), 'one does not mention oneself');
    assert.equal(await alice.page.evaluate(() => document.getElementById('composer').getAttribute('aria-expanded')), 'true');
    // Down and Up move through the options (aria-activedescendant follows), wrapping around.
    const active = () => alice.page.evaluate(() => document.getElementById('composer').getAttribute('aria-activedescendant'));
    const first = await active();
    if (options.length > 1) {
      await alice.page.press('ArrowDown');
      assert.notEqual(await active(), first);
      await alice.page.press('ArrowUp');
    }
    assert.equal(await active(), first);
    await alice.page.evaluate(() => { const c = document.getElementById('composer'); c.value = c.value.replace(/@b$/, '@bo'); c.dispatchEvent(new Event('input')); });
    await alice.page.waitFor(() => [...document.querySelectorAll('#mention-list [role=option]')].map((o) => o.textContent).join() === '@bob');
    await alice.page.press('Enter');
    assert.equal(await alice.page.value('#composer'), 'look here @bob ');
    assert.equal(await alice.page.evaluate(() => document.getElementById('mention-list').hidden), true);
    await alice.page.type(stamp);
    await alice.page.press('Enter');
    const id = await idOf(bob.page, `alice: look here @bob ${stamp}`);

    // 2. Esc closes an open list and leaves the text as typed.
    await alice.page.type('@');
    await alice.page.waitFor(() => !document.getElementById('mention-list').hidden);
    await alice.page.press('Escape');
    await alice.page.waitFor(() => document.getElementById('mention-list').hidden);
    assert.equal(await alice.page.value('#composer'), '@');
    await alice.page.evaluate(() => { document.getElementById('composer').value = ''; });

    // 3. bob's feed has the mention, live, without the message's text.
    const nid = `mention:${id}:bob`;
    await bob.page.waitFor((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`), nid, { timeout: 30000 });
    const label = await bob.page.evaluate((n) => document.querySelector(`#feed-list [data-notification-id="${n}"]`).textContent, nid);
    assert.match(label, /mentioned you - in /);
    assert.ok(!label.includes(stamp), 'the notification does not carry the text');

    // 4. Sixty messages later (so the mention is older than bob's first page after a reload),
    //    the notification's action opens the message: paged in, scrolled into view.
    const bobToken = await login(stub.base, 'bob');
    for (let i = 0; i < 60; i++)
      assert.equal((await api(stub.base, bobToken, 'POST', '/chat/reply', { conversationId: 'demo', message: `filler ${i}` })).status, 201);
    await bob.page.reload();
    await waitLive(bob.page);
    await bob.page.waitFor((n) => document.querySelector(`#feed-list [data-target="feed-action:${n}"]`), nid, { timeout: 30000 });
    assert.equal(await bob.page.evaluate((i) => !!document.querySelector(`#chat-log [data-target="msg:${i}"]`), id), false);
    await bob.page.evaluate((n) => document.querySelector(`#feed-list [data-target="feed-action:${n}"]`).click(), nid);
    await bob.page.waitFor((i) => !!document.querySelector(`#chat-log [data-target="msg:${i}"]`), id, { timeout: 30000 });
    await findTarget(bob.page, `text:${id}`, { timeout: 30000 });  // drawn: in view
    assert.deepEqual(await alice.page.pageErrors(), []);
    assert.deepEqual(await bob.page.pageErrors(), []);
    await alice.context.close();
    await bob.context.close();
  } finally {
    await stub.stop();
  }
});
