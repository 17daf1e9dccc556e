// One message end to end in every engine: alice types, bob's panel shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { startStub } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, logText } from '../lib/browser.mjs';

let stub;
let browser;
before(async () => { stub = await startStub(); browser = await launch(); });
after(async () => { await browser?.close(); await stub?.stop(); });

test(`${ENGINE}: alice types a message and bob receives it live`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const alice = await openChat(browser, stub.base, 'alice');
  const bob = await openChat(browser, stub.base, 'bob');
  // History is loaded on open: the seeded welcome message is there for both.
  assert.match((await logText(bob.page)).join('\n'), /carol: Welcome to the launch channel/);

  const text = `hello bob ${Date.now()} \u2014 \u03b3\u03b5\u03b9\u03b1, \u043f\u0440\u0438\u0432\u0435\u0442`;
  // The composer has focus when the panel opens: a person just starts typing.
  await alice.page.waitFor(() => document.activeElement?.id === 'composer');
  await alice.page.type(text);
  await alice.page.press('Enter');

  await bob.page.waitFor((x) => [...document.querySelectorAll('#chat-log [data-message-id]')]
    .some((e) => e.textContent === 'alice: ' + x), text);
  // Exactly once on both sides (the live copy and the API response are deduplicated).
  assert.equal((await logText(bob.page)).filter((l) => l === `alice: ${text}`).length, 1);
  await alice.page.waitFor((x) => [...document.querySelectorAll('#chat-log [data-message-id]')]
    .some((e) => e.textContent === 'alice: ' + x), text);
  // Both copies have come to alice's page before it is counted: the live one (it reached bob) and
  // the send's answer (the outbox is empty once it is in).
  await alice.page.waitFor(() => document.querySelectorAll('#chat-outbox [data-state]').length === 0);
  assert.equal((await logText(alice.page)).filter((l) => l === `alice: ${text}`).length, 1);
  await alice.page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR || tmpdir(), `${ENGINE}-alice.png`) });
  assert.deepEqual(await alice.page.pageErrors(), []);
  assert.deepEqual(await bob.page.pageErrors(), []);
});
