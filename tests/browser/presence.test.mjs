// Presence in every engine (issue 18): two pages in one conversation see each other online (the
// canvas line under the messages and the mirror's #chat-online), live from the service's
// connected/disconnected events through the backend's event handler. Online means the app is
// open: closing the chat panel keeps the tab's one connection (the notification feed holds it);
// leaving the page ends the session at once (a normal close on pagehide, and a keepalive
// POST /realtime/leave for when that close frame never leaves a torn-down page; well within the
// 30 s a dropped reliable session would wait), opening the app again brings the user back, a reload
// shows the state from the history answer, and after a server restart the pages reconnect and
// follow each other's presence again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub } from '../lib/stub.mjs';
import { ENGINE, launch, openChat, findTarget, clickTarget, waitLive } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const online = (page, text, timeout = 30000) =>
  page.waitFor((t) => document.getElementById('chat-online').textContent === t, text, { timeout });

test(`${ENGINE}: members see each other online, live; leaving the page goes offline at once, coming back online`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-presence-'));
  let stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0'] });
  const port = stub.port;
  try {
    const alice = await openChat(browser, stub.base, 'alice');
    const bob = await openChat(browser, stub.base, 'bob');

    // 1. Each sees the other (carol, the third member, is not connected).
    await online(alice.page, 'bob online');
    await online(bob.page, 'alice online');
    await findTarget(bob.page, 'online');  // drawn on the canvas too

    // 2. alice closes the chat panel: still in the app (her feed keeps the connection), still online.
    await clickTarget(alice.page, 'close-chat');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await bob.page.evaluate(() => document.getElementById('chat-online').textContent), 'alice online');

    // 3. She leaves the page: offline for bob, live, well before a dropped session would expire (30 s).
    await alice.page.goto('about:blank');
    await online(bob.page, '', 15000);
    // The page also asked the backend to end its connection (fetch keepalive, which outlives the
    // page): signed in, well-formed. 204, or 404 when the socket's own close frame got there first.
    const leaves = () => stub.stderr().split('\n').filter((l) => l.includes('"path":"/realtime/leave"')).map((l) => JSON.parse(l));
    const deadline = Date.now() + 15000;
    while (!leaves().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(leaves().length, 1, 'one leave request: ' + JSON.stringify(leaves()));
    assert.ok([204, 404].includes(leaves()[0].status), 'the leave request was accepted: ' + JSON.stringify(leaves()));
    await alice.context.close();
    const again = await openChat(browser, stub.base, 'alice');
    await online(bob.page, 'alice online');

    // 4. bob reloads: the history answer has alice online before any live event.
    await bob.page.reload();
    await waitLive(bob.page);
    await online(bob.page, 'alice online');
    await online(again.page, 'bob online');

    // 5. A server restart: both pages reconnect by themselves and follow each other again.
    await stub.stop();
    stub = await startStub({ db: path.join(dir, 'chat.db'), args: ['--send-rate', '0', '--port', String(port)] });
    await waitLive(again.page);
    await waitLive(bob.page);
    await online(bob.page, 'alice online');
    assert.deepEqual(await again.page.pageErrors(), []);
    await again.page.goto('about:blank');
    await online(bob.page, '', 15000);
    await again.context.close();
    const third = await openChat(browser, stub.base, 'alice');
    await online(bob.page, 'alice online');
    await online(third.page, 'bob online');
    assert.deepEqual(await third.page.pageErrors(), []);
    assert.deepEqual(await bob.page.pageErrors(), []);
    await third.context.close();
    await bob.context.close();
  } finally {
    await stub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
