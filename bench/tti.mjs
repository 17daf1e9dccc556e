// Issue 14, target 1: time from navigation to a live panel showing the newest message of a
// 10,000-message conversation, this project's page against a plain page with the official
// @azure/web-pubsub-client doing the same requests (bench/peer_page, bundled here with esbuild),
// both served by the same stub from one folder (same origin, same server, same data), in headless
// Chromium, each load in a fresh context (cold cache), the two pages in turns, 5 loads each.
// "Live and showing it": #chat-status says "connected" (ours: subscribed and caught up) and the
// last message element in #chat-log is the newest message; the time is performance.now() in the
// page when a MutationObserver first sees both (0 = navigation start).
// Run: cd tests && node ../bench/tti.mjs   (BENCH_LOADS=N for another count)
import path from 'node:path';
import { createRequire } from 'node:module';
import { startStub, login, api } from '../tests/lib/stub.mjs';
import { ARGS } from '../tests/lib/browser-chromium.mjs';
import { peerSite } from './peer_site.mjs';
import { report } from './report.mjs';

const MESSAGES = 10000;
const LOADS = Number(process.env.BENCH_LOADS || 5);
const tests = path.resolve(import.meta.dirname, '../tests');
const { chromium } = createRequire(path.join(tests, 'package.json'))('playwright-core');  // tests/node_modules

const { work, site, remove } = peerSite('tti-bench');
const stub = await startStub({ args: ['--send-rate', '0', '--quiet'], db: path.join(work, 'chat.db'), staticDir: site });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ARGS });
try {
  const bob = await login(stub.base, 'bob');
  const post = async (i, text) => {
    const r = await api(stub.base, bob, 'POST', '/chat/reply', { conversationId: 'demo', message: text, clientMessageId: `tti-${i}` });
    if (r.status !== 201 && r.status !== 200) throw new Error(`reply ${i}: HTTP ${r.status}`);
  };
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < MESSAGES - 1) {
      const i = next++;
      await post(i, `message ${i}: ${'some words to make a real chat line '.slice(0, 20 + (i % 17))}`);
    }
  }));
  await post(MESSAGES - 1, 'the newest message');  // alone, after the rest: the largest seq
  console.log(`posted ${MESSAGES} messages to 'demo' in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const watch = () => {
    window.__tti = null;
    const check = () => {
      if (window.__tti !== null) return;
      const st = document.getElementById('chat-status');
      const items = document.querySelectorAll('#chat-log [data-message-id]');
      if (st?.textContent === 'connected' && items.length && items[items.length - 1].textContent.includes('the newest message'))
        window.__tti = performance.now();
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  };
  async function load(url) {
    const ctx = await browser.newContext({ viewport: { width: 900, height: 640 } });
    const page = await ctx.newPage();
    await page.addInitScript(watch);
    await page.goto(url);
    try {
      await page.waitForFunction(() => window.__tti !== null, null, { timeout: 60000, polling: 100 });
    } catch (e) {
      const at = await page.evaluate(() => ({ status: document.getElementById('chat-status')?.textContent,
        last: [...document.querySelectorAll('#chat-log [data-message-id]')].slice(-2).map((x) => x.textContent) }));
      throw new Error(`${url}: not live with the newest message after 60 s: ${JSON.stringify(at)}`, { cause: e });
    }
    const r = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      return { tti: window.__tti, dcl: nav.domContentLoadedEventEnd, bytes: res.reduce((n, e) => n + e.transferSize, nav.transferSize) };
    });
    await ctx.close();
    return r;
  }
  const runs = { ours: [], peer: [] };
  for (let i = 0; i < LOADS; i++) {
    runs.ours.push(await load(`${stub.base}/?user=alice&conversation=demo`));
    runs.peer.push(await load(`${stub.base}/peer.html?user=alice&conversation=demo`));
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const ours = median(runs.ours.map((r) => r.tti));
  const peer = median(runs.peer.map((r) => r.tti));
  const line = (name, rs, m) => console.log(`${name.padEnd(34)} ${m.toFixed(0).padStart(6)} ms  (loads: ${rs.map((r) => r.tti.toFixed(0)).join(', ')}; transfer ${(median(rs.map((r) => r.bytes)) / 1000).toFixed(1)} KB)`);
  console.log(`time to a live panel showing the newest of ${MESSAGES} messages, median of ${LOADS} cold loads:`);
  line('chat panel (C++/wasm)', runs.ours, ours);
  line('peer: official SDK page', runs.peer, peer);
  console.log(`ratio: ${(ours / peer).toFixed(2)}x the peer (target <= 1.5x)`);
  report({ target: '1', figure: 'time to a live panel', ours, peer, unit: 'ms', ratio: ours / peer, goal: ['<=', 1.5] });
  console.log(`(${browser.version()})`);
} finally {
  await browser.close();
  await stub.stop();
  remove();
}
