// The panel's design in the engine named by ENGINE: layouts at 360, 768, 1280 and 1920 px wide in
// both themes and at DPR 1 and 2 (screenshots as artifacts in SCREENSHOT_DIR), the theme's
// background really drawn, header and composer controls inside the viewport and apart, grouped
// rows, actions on hover, the "New messages" divider, and an honest error state on a static host
// with no backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, SITE_DIR } from '../lib/stub.mjs';
import { ENGINE, launch, waitLive, findTarget, clickTarget, need, sleep } from '../lib/browser.mjs';
import { notBlank, decodePng } from '../lib/png.mjs';

let stub;
let browser;
before(async () => { stub = await startStub({ args: ['--send-rate', '0'] }); browser = await launch(); });
after(async () => { await browser?.close(); await stub?.stop(); });

const shots = process.env.SCREENSHOT_DIR || tmpdir();
const BG = { light: [0xff, 0xff, 0xff], dark: [0x1a, 0x1d, 0x21] };  // src/ui/theme.cpp palettes
const targets = (page) => page.evaluate(() => window.Module?.chat?.targets || {});
const rect = ([cx, cy, w, h]) => ({ x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 });
const overlap = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

async function markRead(user, conversationId) {
  const token = await login(stub.base, user);
  const c = (await api(stub.base, token, 'GET', '/chat/conversations')).json.conversations.find((x) => x.conversationId === conversationId);
  await api(stub.base, token, 'POST', '/chat/read', { conversationId, seq: c.lastSeq });
}

test('layouts at 360, 768, 1280 and 1920 px, both themes, DPR 1 and 2: drawn, controls inside and apart', async (t) => {
  await markRead('carol', 'demo');
  for (const width of [360, 768, 1280, 1920]) {
    for (const [scheme, dpr] of [['light', 1], ['dark', 2]]) {
      if (scheme === 'dark' && !need(t, browser, 'colorScheme', `dark theme at ${width} px`)) continue;
      const useDpr = browser.can.dpr === true ? dpr : 1;
      const height = width < 500 ? 740 : Math.round(width * 0.6);
      const context = await browser.newContext({ viewport: { width, height }, dpr: useDpr, colorScheme: scheme === 'dark' ? 'dark' : undefined });
      try {
        const page = await context.newPage();
        await page.goto(`${stub.base}/?user=carol`);
        await waitLive(page);
        await findTarget(page, 'send');
        const png = await page.screenshot({ path: path.join(shots, `${ENGINE}-design-${width}-${scheme}-dpr${useDpr}.png`) });
        assert.ok(notBlank(png), `${width} ${scheme}: the panel is drawn`);
        // The theme's background at the bottom-right corner (window padding: nothing else there).
        const img = decodePng(png);
        const px = img.pixel(img.width - 2, img.height - 2);
        for (let i = 0; i < 3; i++) assert.ok(Math.abs(px[i] - BG[scheme][i]) <= 3, `${width} ${scheme}: background ${px} is the palette's ${BG[scheme]}`);
        // The viewport the engine really gave (a window manager may keep a window wider).
        const [vw, vh] = await page.evaluate(() => [innerWidth, innerHeight]);
        if (vw !== width) t.diagnostic(`${ENGINE}: asked for ${width} px wide, the window is ${vw} px`);
        const tg = await targets(page);
        const controls = ['close-chat', 'bell', 'attach', 'send'];
        for (const name of controls) {
          assert.ok(tg[name], `${width} ${scheme}: ${name} is drawn`);
          const r = rect(tg[name]);
          assert.ok(r.x0 >= 0 && r.y0 >= 0 && r.x1 <= vw + 0.5 && r.y1 <= vh + 0.5, `${vw}x${vh}: ${name} ${JSON.stringify(r)} inside the viewport`);
        }
        for (let i = 0; i < controls.length; i++)
          for (let j = i + 1; j < controls.length; j++)
            assert.ok(!overlap(rect(tg[controls[i]]), rect(tg[controls[j]])), `${width}: ${controls[i]} and ${controls[j]} do not overlap`);
      } finally { await context.close(); }
    }
  }
});

test('grouped rows, actions on hover, and the New messages divider at the first unread', async () => {
  const alice = await login(stub.base, 'alice');
  const conv = (await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Design review', members: ['bob'] })).json;
  const cid = conv.conversationId || conv.conversation?.conversationId;
  assert.ok(cid, `conversation created: ${JSON.stringify(conv)}`);
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: cid, message: `grouped ${i}`, clientMessageId: `design-${i}-${Date.now()}` });
    ids.push(r.json.message.messageId);
  }
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  try {
    const page = await context.newPage();
    await page.goto(`${stub.base}/?user=bob&conversation=${encodeURIComponent(cid)}`);
    await waitLive(page);
    await findTarget(page, `text:${ids[2]}`);
    const tg = await targets(page);
    // Three messages of one sender a moment apart: one header, one avatar.
    assert.ok(tg[`avatar:${ids[0]}`], 'the first row has an avatar');
    assert.ok(!tg[`avatar:${ids[1]}`] && !tg[`avatar:${ids[2]}`], 'the next two are grouped under it');
    // All three were unread when it opened: the divider is above the first.
    const divider = tg['new-messages'];
    assert.ok(divider, 'a New messages divider');
    assert.ok(divider[1] < tg[`text:${ids[0]}`][1], 'above the first unread message');
    // No permanent Copy button; it shows while the pointer is over the message.
    assert.ok(!Object.keys(tg).some((k) => k.startsWith('copy:')), 'no Copy button before hovering');
    const [x, y] = await findTarget(page, `text:${ids[1]}`);
    await page.move(x, y);
    await findTarget(page, `copy:${ids[1]}`);
    assert.ok(!(await targets(page))[`copy:${ids[0]}`], 'only the hovered row has actions');
  } finally { await context.close(); }
});

test('a static host with no backend: an error with Try again, never Live', async () => {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.data': 'application/octet-stream' };
  // Sign-in requests (the API paths) are answered 404; while `held` is set their answers wait
  // until released, so the test sees the retry in progress before it fails again.
  let held = null;
  let signIns = 0;
  const host = createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    if (p === '/config.json' || !/\.[a-z]+$/.test(p) && p !== '/') {  // no API here
      if (p !== '/config.json') signIns++;
      const answer = () => { res.writeHead(404); res.end(); };
      if (held && p !== '/config.json') held.push(answer); else answer();
      return;
    }
    try {
      const body = await readFile(path.join(SITE_DIR, p === '/' ? 'index.html' : path.normalize(p).replace(/^(\.\.[/\\])+/, '')));
      res.writeHead(200, { 'Content-Type': types[path.extname(p)] || 'text/html' });
      res.end(body);
    } catch { res.writeHead(404); res.end(); }
  });
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${host.address().port}/?user=alice`);
    await findTarget(page, 'retry-start', { timeout: 30000 });
    const status = await page.evaluate(() => document.getElementById('chat-status').textContent);
    assert.match(status, /^error: Sign-in failed/);
    await page.screenshot({ path: path.join(shots, `${ENGINE}-design-no-backend.png`) });
    // Try again asks once more (and fails the same honest way). The button and the error were
    // there before the click: the retry is seen under way (its request held, the error gone), then
    // failing again once the answer is let through.
    held = [];
    const asked = signIns;
    await clickTarget(page, 'retry-start');
    for (const end = Date.now() + 30000; signIns === asked && Date.now() < end;) await sleep(50);
    assert.ok(signIns > asked, 'Try again sent a new sign-in request');
    await page.waitFor(() => !('retry-start' in Module.chat.targets) && !/^error:/.test(document.getElementById('chat-status').textContent),
      null, { timeout: 30000 });
    const pending = held;
    held = null;
    for (const answer of pending) answer();
    await page.waitFor(() => 'retry-start' in Module.chat.targets && /^error: Sign-in failed/.test(document.getElementById('chat-status').textContent),
      null, { timeout: 30000 });
    assert.notEqual(await page.evaluate(() => document.getElementById('chat-status').textContent), 'connected');
  } finally {
    for (const answer of held || []) answer();
    held = null;
    await context.close();
    await new Promise((r) => host.close(r));
  }
});
