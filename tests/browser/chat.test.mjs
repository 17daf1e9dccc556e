// One message end to end in real Chromium: alice types, bob's panel shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub } from '../lib/stub.mjs';
import { launch, openChat, logText } from '../lib/browser.mjs';

let stub;
let browser;
before(async () => { stub = await startStub(); browser = await launch(); });
after(async () => { await browser?.close(); await stub?.stop(); });

test('alice types a message and bob receives it live', async () => {
  const alice = await openChat(browser, stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  // History is loaded on open: the seeded welcome message is there for both.
  assert.match((await logText(bob.page)).join('\n'), /carol: Welcome to the launch channel/);

  const text = `hello bob ${Date.now()} \u2014 \u03b3\u03b5\u03b9\u03b1, \u043f\u0440\u0438\u0432\u0435\u0442`;
  // The composer has focus when the panel opens: a person just starts typing.
  await alice.page.waitForFunction(() => document.activeElement?.id === 'composer');
  await alice.page.keyboard.type(text);
  await alice.page.keyboard.press('Enter');

  await bob.page.waitForFunction((t) => [...document.querySelectorAll('#chat-log [data-message-id]')]
    .some((e) => e.textContent === 'alice: ' + t), text, { timeout: 15000 });
  // Exactly once on both sides (the live copy and the API response are deduplicated).
  assert.equal((await logText(bob.page)).filter((l) => l === `alice: ${text}`).length, 1);
  await alice.page.waitForFunction((t) => [...document.querySelectorAll('#chat-log [data-message-id]')]
    .some((e) => e.textContent === 'alice: ' + t), text, { timeout: 15000 });
  assert.equal((await logText(alice.page)).filter((l) => l === `alice: ${text}`).length, 1);
  await alice.page.screenshot({ path: process.env.SCREENSHOT_DIR ? `${process.env.SCREENSHOT_DIR}/alice.png` : '/tmp/alice.png' });
  assert.deepEqual(alice.errors, []);
  assert.deepEqual(bob.errors, []);
});
