// The static demo (issue 15): build/wasm/demo-site served by a plain static file server, no stub
// running anywhere. The backend is the stub's own, compiled to WebAssembly, in the origin's
// SharedWorker: two tabs (alice, bob) in one browser profile chat live through it, a demo user
// without a page types and answers, the Demo menu's dropped connection goes through reconnecting
// back to live with nothing lost, the history survives closing every tab (IndexedDB), and nothing
// but the site's own files is requested.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SITE_DIR } from '../lib/stub.mjs';
import { serveStatic } from '../lib/site.mjs';
import { ENGINE, launch, waitLive, clickTarget, logText } from '../lib/browser.mjs';

const DEMO_DIR = process.env.DEMO_SITE_DIR || path.join(path.dirname(SITE_DIR), 'demo-site');

let browser;
let host;
let origin;
let served;  // every request the static host got: method and path

before(async () => {
  host = await serveStatic(DEMO_DIR);
  ({ origin, served } = host);
  browser = await launch();
});
after(async () => { await browser?.close(); host?.close(); });

// Names the step a failure happened in (and where the page stood).
async function step(name, page, fn) {
  try {
    return await fn();
  } catch (e) {
    const at = await page?.evaluate(() => ({ status: document.getElementById('chat-status')?.textContent,
      log: [...document.querySelectorAll('#chat-log [data-message-id]')].map((x) => x.textContent) })).catch((x) => String(x));
    throw new Error(`${name}: ${e.message} (page: ${JSON.stringify(at)})`, { cause: e });
  }
}

// Closes every demo tab (a blank one keeps the browser's session), so the worker and its memory
// go, then opens the demo again as `user` in that tab: what it shows came from IndexedDB.
async function reopen(context, pages, user) {
  const again = await context.newPage();
  for (const p of pages) await p.close();
  await new Promise((r) => setTimeout(r, 1500));
  await step('a new tab goes live', again, async () => { await again.goto(`${origin}/?user=${user}`); await waitLive(again); });
  return again;
}

test(`${ENGINE}: the demo folder on a plain static host: two tabs chat live through the in-browser backend, the history survives, nothing leaves the origin`, async (t) => {
  t.diagnostic(`engine: ${browser.version}`);
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  try {
    const alice = await context.newPage();
    await step('alice goes live', alice, async () => { await alice.goto(`${origin}/?user=alice`); await waitLive(alice); });
    const bob = await context.newPage();
    await step('bob goes live', bob, async () => { await bob.goto(`${origin}/?user=bob`); await waitLive(bob); });
    // The seeded welcome message, from the backend's own seed.
    await step('bob sees the history', bob, () => bob.waitFor(() => document.querySelectorAll('#chat-log [data-message-id]').length > 0));

    await alice.focus('#composer');
    await alice.type('hello from the demo');
    await alice.press('Enter');
    await step('bob sees alice\'s message live', bob, () => bob.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .some((e) => e.textContent === 'alice: hello from the demo'), null, { timeout: 30000 }));

    // Every resource either page loaded came from the static origin.
    for (const page of [alice, bob]) {
      const foreign = await page.evaluate((o) => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(o)), origin);
      assert.deepEqual(foreign, []);
      assert.deepEqual(await page.pageErrors(), []);
    }
    // A large request body (3 MB, an attachment's size) crosses the port and the worker intact:
    // answered (401: no session on this raw request), and the backend goes on.
    const big = await alice.evaluate(() => new Promise((resolve) => {
      const port = Module.demo.port;
      const before = port.onmessage;
      port.onmessage = (e) => {
        if (e.data && e.data.type === 'http' && e.data.id === -1) { port.onmessage = before; resolve(e.data.status); } else before(e);
      };
      port.postMessage({ type: 'http', id: -1, method: 'POST', target: '/blobs?name=big.bin', headers: {}, body: new Uint8Array(3 * 1024 * 1024) });
    }));
    assert.equal(big, 401);

    // A demo user without a page (carol) types for a moment, then answers: alice sees both.
    await step('carol types, then answers', alice, async () => {
      await alice.waitFor(() => /carol/i.test(document.getElementById('chat-typing').textContent), null, { timeout: 15000, interval: 25 });
      await alice.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
        .some((e) => e.textContent === 'carol: Sounds good to me!'), null, { timeout: 15000 });
    });

    // A notification now and then: the first about 20 s after the first page came.
    await step('a notification arrives', alice, () => alice.waitFor(() => /Design review moved to 3 pm/.test(document.getElementById('feed-list').textContent),
      null, { timeout: 60000 }));

    // The Demo menu drops bob's connection: his page goes through reconnecting back to live, and
    // what alice sent meanwhile reaches him.
    await bob.evaluate(() => {
      // Every upgrade the page asks the backend for from now on, and whether it was taken.
      window.opens = [];
      const port = Module.demo.port;
      const post = port.postMessage.bind(port);
      port.postMessage = (m) => { if (m && m.type === 'ws-open') window.opens.push({ sid: m.sid, url: m.url }); post(m); };
      const onmessage = port.onmessage;
      port.onmessage = (e) => {
        const m = e.data || {};
        if (m.type === 'ws-open') { const o = window.opens.find((x) => x.sid === m.sid); if (o) o.ok = !!m.ok; }
        if (m.type === 'ws-close') { const o = window.opens.find((x) => x.sid === m.sid); if (o) o.closed = m.code; }
        onmessage(e);
      };
      window.statuses = [];
      const s = document.getElementById('chat-status');
      new MutationObserver(() => window.statuses.push(s.textContent)).observe(s, { childList: true, characterData: true, subtree: true });
      document.getElementById('demo-drop').click();
    });
    await step('bob is not live after the drop', bob, () => bob.waitFor(() => document.getElementById('chat-status').textContent !== 'connected',
      null, { timeout: 5000, interval: 20 }));
    await alice.focus('#composer');
    await alice.type('sent while bob was away');
    await alice.press('Enter');
    await step('bob is live again with nothing lost', bob, async () => {
      await waitLive(bob);
      await bob.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
        .some((e) => e.textContent === 'alice: sent while bob was away'), null, { timeout: 30000 });
    });
    const statuses = await bob.evaluate(() => window.statuses);
    assert.ok(statuses.some((x) => /reconnect|recover|connecting|offline/.test(x)), 'the status went through reconnecting: ' + JSON.stringify(statuses));
    // The reliable session was recovered, not replaced: every upgrade since the drop asked for the
    // same connection with its reconnection token, and the one that was taken stayed open.
    const opens = await bob.evaluate(() => window.opens);
    assert.ok(opens.length > 0, 'the page reconnected');
    const recovery = opens.map((o) => new URL(o.url).searchParams);
    assert.ok(recovery.every((q) => q.get('awps_connection_id') && q.get('awps_reconnection_token')), 'recoveries only: ' + JSON.stringify(opens));
    assert.equal(new Set(recovery.map((q) => q.get('awps_connection_id'))).size, 1, JSON.stringify(opens));
    assert.ok(opens.some((o) => o.ok && o.closed === undefined), 'a recovery was taken: ' + JSON.stringify(opens));

    // The SQLite file, kept in the origin's IndexedDB, holds the message.
    await step('the message is in IndexedDB', bob, () => bob.waitFor(() => {
      if (!window.kept) {
        window.kept = 'reading';
        indexedDB.open('chat-demo').onsuccess = (e) => {
          const r = e.target.result.transaction('files').objectStore('files').get('db');
          r.onsuccess = () => { window.kept = r.result && new TextDecoder('latin1').decode(r.result).includes('hello from the demo') ? 'yes' : 'no'; };
        };
      }
      if (window.kept === 'no') window.kept = null;  // not yet saved: read again
      return window.kept === 'yes';
    }, null, { timeout: 15000 }));
    // Every demo tab closed (a blank one keeps the browser's session): the worker and its memory
    // go; the history comes back from IndexedDB.
    const again = await reopen(context, [alice, bob], 'bob');
    await step('the history came back from IndexedDB', again, () => again.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .some((e) => e.textContent === 'alice: hello from the demo'), null, { timeout: 30000 }));
    // The Demo menu's reset: every page reloads onto fresh demo data.
    await again.evaluate(() => { window.beforeReset = true; window.confirm = () => true; document.getElementById('demo-reset').click(); });
    await step('reset: reloaded onto fresh data', again, () => again.waitFor(() => !window.beforeReset
      && document.getElementById('chat-status')?.textContent === 'connected'
      && document.querySelectorAll('#chat-log [data-message-id]').length > 0
      && !document.getElementById('chat-log').textContent.includes('hello from the demo'), null, { timeout: 60000 }));
  } finally {
    await context.close();
  }
  // The static host saw file requests only: no API path, no method but GET.
  const api = served.filter((r) => !/^GET \/(|index\.html|[\w.-]+\.(js|wasm|data|json|svg|br|gz))$/.test(r));
  assert.deepEqual(api, [], 'requests other than the site\'s files');
});

// Clicks the chat log's "Open <name>" button and returns what downloaded: the anchor's click is
// recorded instead of saving a file, and its object URL read back.
async function openFile(page, name) {
  return step(`open ${name}`, page, async () => {
    await page.evaluate(() => {
      window.downloads = [];
      HTMLAnchorElement.prototype.click = function () { window.downloads.push({ name: this.download, href: this.href }); };
    });
    await page.waitFor((n) => [...document.querySelectorAll('#chat-log button')].some((b) => b.textContent === 'Open ' + n), name, { timeout: 30000 });
    await page.evaluate((n) => [...document.querySelectorAll('#chat-log button')].find((b) => b.textContent === 'Open ' + n).click(), name);
    await page.waitFor(() => window.downloads.length > 0, null, { timeout: 15000 });
    return page.evaluate(async () => {
      const d = window.downloads[0];
      const r = await fetch(d.href);
      return { name: d.name, href: d.href, type: r.headers.get('Content-Type'), text: await r.text() };
    });
  });
}

// The backend keeps attachments in the worker (IndexedDB across reloads); their /blobs/ links name
// it, not the static host. The page fetches them through the port: an image's thumbnail, its new
// window (an object URL of the served image type), a file's download under its own name.
test(`${ENGINE}: attachments in the demo: a thumbnail that opens, a file that downloads, both kept across a reload, none from the static host`, async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const bobThumb = (page) => step('bob sees the thumbnail', page, () => page.waitFor(
    () => Object.keys(window.Module?.chat?.targets || {}).some((k) => k.startsWith('thumb:')), null, { timeout: 30000 }));
  try {
    const alice = await context.newPage();
    await step('alice goes live', alice, async () => { await alice.goto(`${origin}/?user=alice`); await waitLive(alice); });
    const bob = await context.newPage();
    await step('bob goes live', bob, async () => { await bob.goto(`${origin}/?user=bob`); await waitLive(bob); });
    // A 4x2 PNG made by the browser itself (no binary fixture in the repository).
    const png = Buffer.from(await alice.evaluate(async () => {
      const c = new OffscreenCanvas(4, 2);
      const g = c.getContext('2d');
      g.fillStyle = '#e33'; g.fillRect(0, 0, 2, 2); g.fillStyle = '#33e'; g.fillRect(2, 0, 2, 2);
      return [...new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer())];
    }));
    await alice.setFiles('#attach', { name: 'flag.png', mimeType: 'image/png', buffer: png });
    await bobThumb(bob);
    // A click on the thumbnail opens the image in a new window, from an object URL of this origin.
    await bob.bringToFront();
    const opened = await bob.popup(() => clickTarget(bob, 'thumb:*'));
    assert.ok(opened.startsWith(`blob:${origin}/`), `the window shows the image: ${opened}`);
    // Again, looking into the window: an image document of the type the backend served, with no
    // way back to the page that opened it.
    await bob.evaluate(() => {
      const open = window.open;
      window.open = function (...args) { const w = open.apply(this, args); window.__opened = w; return w; };
    });
    await clickTarget(bob, 'thumb:*');
    const shown = await step('the image window loads', bob, () => bob.waitFor(() => {
      const w = window.__opened;
      if (!w || !String(w.location.href).startsWith('blob:') || w.document.readyState !== 'complete') return null;
      const r = { type: w.document.contentType, opener: w.opener === null, images: w.document.images.length };
      w.close();
      return r;
    }, null, { timeout: 15000 }));
    assert.deepEqual(shown, { type: 'image/png', opener: true, images: 1 });

    // Any other file downloads under its name, with its bytes (the anchor's click is recorded).
    const text = 'hello attachment \u2713 \u0645\u0631\u062d\u0628\u0627';
    const name = 'notes \u2014 \u00fcber.txt';
    await alice.setFiles('#attach', { name, mimeType: 'text/plain', buffer: Buffer.from(text) });
    const got = await openFile(bob, name);
    assert.equal(got.name, name);
    assert.ok(got.href.startsWith(`blob:${origin}/`), got.href);
    assert.equal(got.type, 'application/octet-stream');  // never rendered on this origin
    assert.equal(got.text, text);
    // A link whose signature is not the backend's is refused, and the user reads why.
    await bob.evaluate(() => Module.demo.openBlob('/blobs/blob_0123456789abcdef0123?exp=9999999999&sig=' + 'A'.repeat(43), false));
    await step('a forged link is refused on screen', bob, () => bob.waitFor(
      () => document.getElementById('chat-error').textContent === 'The attachment could not be opened (HTTP 403).', null, { timeout: 15000 }));

    // Both files are kept in the origin's IndexedDB beside the SQLite file.
    await step('the files are in IndexedDB', bob, () => bob.waitFor(async () => {
      const db = await new Promise((resolve, reject) => { const o = indexedDB.open('chat-demo'); o.onsuccess = () => resolve(o.result); o.onerror = () => reject(o.error); });
      const keys = await new Promise((resolve) => { const r = db.transaction('files').objectStore('files').getAllKeys(); r.onsuccess = () => resolve(r.result); });
      db.close();
      return keys.filter((k) => String(k).startsWith('blob:')).length === 2;
    }, null, { timeout: 15000 }));

    // Every demo tab closed: the worker goes; the attachments come back from IndexedDB.
    const again = await reopen(context, [alice, bob], 'bob');
    await bobThumb(again);
    assert.equal((await openFile(again, name)).text, text);
    // The reset takes the files too.
    await again.evaluate(() => { window.beforeReset = true; window.confirm = () => true; document.getElementById('demo-reset').click(); });
    await step('reset: no file kept', again, () => again.waitFor(async () => {
      if (window.beforeReset || document.getElementById('chat-status')?.textContent !== 'connected') return false;
      const db = await new Promise((resolve, reject) => { const o = indexedDB.open('chat-demo'); o.onsuccess = () => resolve(o.result); o.onerror = () => reject(o.error); });
      const keys = await new Promise((resolve) => { const r = db.transaction('files').objectStore('files').getAllKeys(); r.onsuccess = () => resolve(r.result); });
      db.close();
      return keys.includes('db') && !keys.some((k) => String(k).startsWith('blob:'));
    }, null, { timeout: 60000 }));
  } finally {
    await context.close();
  }
  const api = served.filter((r) => !/^GET \/(|index\.html|[\w.-]+\.(js|wasm|data|json|svg|br|gz))$/.test(r));
  assert.deepEqual(api, [], 'requests other than the site\'s files');
});

test(`${ENGINE}: without SharedWorker (?demoWorker=tab) the tab runs its own backend and says so`, async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  try {
    const page = await context.newPage();
    await step('the tab goes live on its own backend', page, async () => { await page.goto(`${origin}/?user=alice&demoWorker=tab`); await waitLive(page); });
    assert.match(await page.evaluate(() => document.getElementById('demo-note').textContent), /this tab only/);
    assert.equal(await page.evaluate(() => Module.demo.shared), false);
    await page.focus('#composer');
    await page.type('on my own');
    await page.press('Enter');
    await step('the message is stored and shown', page, () => page.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .some((e) => e.textContent === 'alice: on my own'), null, { timeout: 30000 }));
    assert.deepEqual(await page.pageErrors(), []);
  } finally {
    await context.close();
  }
});

// Without SharedWorker each tab runs its own backend on the same saved data: only the first
// keeps it (a Web Lock), so a second tab's copy of the SQLite file never overwrites what the first
// saved; the second says its work is not kept.
test(`${ENGINE}: two tabs with their own backends: the first keeps the data, the second says it does not and never overwrites it`, async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const send = async (page, text, who) => {
    await page.focus('#composer');
    await page.type(text);
    await page.press('Enter');
    await step(`${who}'s message is shown`, page, () => page.waitFor((t) => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .some((e) => e.textContent === t), `${who}: ${text}`, { timeout: 30000 }));
  };
  try {
    const first = await context.newPage();
    await step('the first tab goes live', first, async () => { await first.goto(`${origin}/?user=alice&demoWorker=tab`); await waitLive(first); });
    const second = await context.newPage();
    await step('the second tab goes live', second, async () => { await second.goto(`${origin}/?user=bob&demoWorker=tab`); await waitLive(second); });
    await step('the second tab says its data is not kept', second, () => second.waitFor(
      () => /Another tab of this demo keeps its data/.test(document.getElementById('demo-note').textContent), null, { timeout: 15000 }));
    assert.match(await first.evaluate(() => document.getElementById('demo-note').textContent), /this tab only/);
    await send(first, 'kept from the first tab', 'alice');
    // Saved: the SQLite file in IndexedDB holds the message's text (waited for, not slept on).
    await step('the first tab saved its message', first, () => first.waitFor(async () => {
      const db = await new Promise((resolve, reject) => { const o = indexedDB.open('chat-demo-tab'); o.onsuccess = () => resolve(o.result); o.onerror = () => reject(o.error); });
      const bytes = await new Promise((resolve) => { const r = db.transaction('files').objectStore('files').get('db'); r.onsuccess = () => resolve(r.result); });
      db.close();
      return bytes instanceof Uint8Array && new TextDecoder('latin1').decode(bytes).includes('kept from the first tab');
    }, null, { timeout: 30000 }));
    const keep = await context.newPage();  // a blank tab keeps the browser's session
    await first.close();
    // The second tab goes on after the first closed; before the lock, its save (every 250 ms,
    // and after a send) put its own file, without the first tab's message, over the saved one.
    await send(second, 'from the second tab', 'bob');
    await new Promise((r) => setTimeout(r, 1500));
    await second.close();
    const again = keep;
    await step('a new tab goes live on the saved data', again, async () => { await again.goto(`${origin}/?user=alice&demoWorker=tab`); await waitLive(again); });
    await step('the first tab\'s message was kept', again, () => again.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
      .some((e) => e.textContent === 'alice: kept from the first tab'), null, { timeout: 30000 }));
    const log = await logText(again);
    assert.ok(!log.includes('bob: from the second tab'), 'the second tab\'s work is not kept: ' + JSON.stringify(log.slice(-5)));
    assert.match(await again.evaluate(() => document.getElementById('demo-note').textContent), /this tab only/);
  } finally {
    await context.close();
  }
});

