// The site served by a plain static file host on another origin, pointed at the stub's API by
// a URL parameter: CORS preflights, cross-origin WebSocket and fetch all work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, SITE_DIR } from '../lib/stub.mjs';
import { serveStatic } from '../lib/site.mjs';
import { launch, waitLive } from '../lib/browser.mjs';

let stub;
let browser;
let host;
let origin;
before(async () => {
  host = await serveStatic(SITE_DIR);
  origin = host.origin;
  stub = await startStub({ args: ['--allow-origin', origin] });
  browser = await launch();
});
after(async () => { await browser?.close(); await stub?.stop(); host?.close(); });

test('a static copy of the site on another origin talks to the backend given by ?api=', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/?user=bob&api=${encodeURIComponent(stub.base)}`);
  await waitLive(page);
  await page.waitFor(() => document.querySelectorAll('#chat-log [data-message-id]').length > 0);
  await page.focus('#composer');
  await page.type('from a static host');
  await page.press('Enter');
  await page.waitFor(() => [...document.querySelectorAll('#chat-log [data-message-id]')]
    .some((e) => e.textContent === 'bob: from a static host'));
  assert.deepEqual(await page.pageErrors(), []);
  await context.close();
});
