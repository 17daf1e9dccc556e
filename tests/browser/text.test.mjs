// Text in every script (issue 12), in the engine named by ENGINE: each sample message drawn on the
// canvas by the web text port (src/platform/web/text_web.*) must look like the same string drawn
// by the same browser in a DOM element.
//
// How a sample is checked, per configuration (DPR 1 and 2, light and dark where the driver can):
//  - The panel (900x640 CSS px) is scrolled with the wheel from the top down, each step bringing
//    the first line not compared yet to the top of the history band (between the header and the
//    typing line above the composer; whole notches). At each position every sample whose text
//    box (`text:<messageId>` target, CSS px) lies wholly in the band is cropped from a page
//    screenshot. A message taller than the band (the ~4,000-byte CJK one) is compared in runs of
//    whole lines, each line once, across positions.
//  - Font size: the port draws message text at one size px (device px). It is derived, not
//    assumed: the candidates px (6..96 in steps of 0.5) for which, for every sample wholly shown
//    at the first position, chatTextLayout(text, px, boxWidth) gives lines x
//    chatTextLineHeight(px) == the box's height and no line wider than the box; among several,
//    the one whose one-line samples' widths best match the width of the ink the canvas shows for
//    them (16 vs 15.5 px differ by ~15 px over such a line). Measured: 16 at DPR 1, 32 at DPR 2,
//    in every engine. Every later sample is checked against that px the same way.
//  - Reference: a DOM element over the box (position: fixed, same place and width), background =
//    the crop's most common colour, colour = the theme's text colour (the crops' farthest grey
//    from the background), font = Module.chatTextFont(px), line height = chatTextLineHeight(px),
//    laid out in device px and scaled by 1/devicePixelRatio (transform), so its glyphs land on
//    the canvas text's device pixels (at px/dpr CSS px, WebKit rounds advances at the smaller
//    size and a long line drifts by several device px at DPR 2). Lines: the PORT's own line
//    breaks from chatTextLayout, one block per line (white-space: pre; no DOM line breaking, so
//    DOM-vs-Intl.Segmenter break differences cannot matter), each with direction rtl/ltr as the
//    port's line says (its paragraph's first strong character); an RTL line ends at the box's
//    right edge, starting on the whole pixel the port starts it on (round(box width - line
//    width)), LTR lines start at the left edge.
//  - Measure: both crops are reduced to a grid of cells an eighth of a line height square (3x3
//    device px at DPR 1, 6x6 at DPR 2); per cell and channel the mean difference from the
//    background colour (signed, so colour counts, not just coverage). D = sum|canvas - dom| /
//    sum(|canvas| + |dom|) over all cells and channels: 0 = same, 1 = nothing in common. The
//    reference is shifted by up to 1 CSS px in x and y (device-pixel steps) and the smallest D is
//    taken, so sub-pixel baseline or pen-position rounding and anti-aliasing do not count.
//    Threshold: D <= 0.1. Proof the measure can fail: the same lines with every grapheme but
//    spaces replaced by U+FFFD, drawn the same way, must give D >= 0.3 against the canvas crop
//    (measured 2026-11-29, every sample, engine, DPR and theme: same text 0.000-0.034, U+FFFD
//    0.39-0.72).
//  - Colour emoji: the crop has >= 40 x dpr^2 saturated pixels (max - min channel >= 96).
//  - Alignment, per line (its middle half of rows; the canvas ink searched across the whole text
//    column): an RTL line's ink ends at the box's right edge, an LTR line's starts at its left
//    edge: within 3 CSS px of where the reference line's ink ends / starts (the reference is
//    aligned to the box, so its ink edge is the box edge less the glyph's side bearing), and no
//    ink lies outside the box. A line drawn outside its box fails; its text is then still
//    compared where the canvas drew it.
// Whole-panel screenshots at each position, stitched top to bottom, are saved as
// `${ENGINE}-text-dpr${n}-${theme}.png`, and every comparison (canvas | DOM | U+FFFD) as
// `${ENGINE}-text-compare-dpr${n}-${theme}.png`, under SCREENSHOT_DIR (default: the OS temp dir).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api } from '../lib/stub.mjs';
import { ENGINE, launch, skipUnless, waitLive } from '../lib/browser.mjs';
import { decodePng, crop, stack, encodePng } from '../lib/png.mjs';

const SHOTS = process.env.SCREENSHOT_DIR || tmpdir();
const VIEWPORT = { width: 900, height: 640 };
const THRESHOLD = 0.1;
const CONTROL_MIN = 0.3;
const ALIGN_TOLERANCE = 3;  // CSS px
const CELLS_PER_LINE = 8;

// ~3,990 bytes of CJK (3 bytes per character): wraps over many lines.
const CJK_LONG = (() => {
  const base = '春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。床前明月光，疑是地上霜。举头望明月，低头思故乡。'
    + '白日依山尽，黄河入海流。欲穷千里目，更上一层楼。千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。';
  let s = '';
  for (let i = 0; Buffer.byteLength(s + base[i % base.length]) <= 3990; i++) s += base[i % base.length];
  return s;
})();

const SAMPLES = [
  { key: 'zh', name: 'Chinese', text: '你好，世界！我们明天上午十点在会议室讨论新版本的发布计划。' },
  { key: 'ja', name: 'Japanese', text: 'こんにちは、世界。明日の会議は午前十時からです。カタカナ、ひらがな、漢字。' },
  { key: 'ko', name: 'Korean', text: '안녕하세요! 내일 오전 10시에 회의실에서 새 버전 출시 계획을 논의합시다.' },
  { key: 'ar', name: 'Arabic', text: 'مرحبا بالعالم! كيف حالك اليوم؟ سنلتقي غدا في المكتب.', rtl: true },
  { key: 'he', name: 'Hebrew', text: 'שלום לכולם! מה שלומכם היום? ניפגש מחר במשרד.', rtl: true },
  { key: 'mixed', name: 'Hebrew/English with numbers', text: 'הפגישה עם David ו-Sarah ב-10:30 בחדר 204, עד 3 משתתפים (v2.5)', rtl: true },
  { key: 'hi', name: 'Hindi (conjuncts)', text: 'हिन्दी संयुक्ताक्षर: क्षमा, ज्ञान, श्रीमान, द्वार, स्त्री, विद्यार्थी, प्रश्न, कृष्ण, राष्ट्र।' },
  { key: 'th', name: 'Thai (no spaces, wraps)', text: 'ภาษาไทยเป็นภาษาที่เขียนติดกันโดยไม่เว้นวรรคระหว่างคำการตัดบรรทัดจึงต้องอาศัยพจนานุกรมเพื่อหาขอบเขตของคำที่ถูกต้องข้อความนี้ยาวพอที่จะต้องขึ้นบรรทัดใหม่ในหน้าต่างสนทนาอย่างน้อยหนึ่งครั้งหรือมากกว่านั้นเพื่อทดสอบการตัดคำ', wraps: true },
  { key: 'emoji', name: 'emoji (skin tones, ZWJ family, flags)', text: '👋🏻 👋🏽 👋🏿 👍🏾 👨‍👩‍👧‍👦 👩🏽‍💻 🇯🇵 🇫🇷 🇧🇷 🇺🇦 🎉 ❤️', emoji: true },
  { key: 'combining', name: 'combining accents', text: 'Cafe\u0301, re\u0301sume\u0301, nai\u0308ve, pin\u0303a, Vie\u0323\u0302t Nam, Z\u0307o\u0301\u0142w, a\u030Angstro\u0308m' },
  { key: 'cjk-long', name: `CJK, ${Buffer.byteLength(CJK_LONG)} bytes`, text: CJK_LONG, wraps: true },
];

let stub;
let browser;
const ids = {};  // sample key -> messageId

before(async () => {
  stub = await startStub({ args: ['--send-rate', '0'] });
  browser = await launch();
  const token = await login(stub.base, 'alice');
  for (const s of SAMPLES) {
    const r = await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: s.text, clientMessageId: `text-${s.key}` });
    assert.ok(r.status === 200 || r.status === 201, `${s.key}: ${r.status} ${r.text}`);
    ids[s.key] = r.json.message.messageId;
  }
});
after(async () => { await browser?.close(); await stub?.stop(); });

// ---- the measure ------------------------------------------------------------------------------

// Summed-area table of the w x h rectangle at (x0, y0) of `img` (3 channels; pixels outside the
// image count as `bg`): sums over any sub-rectangle in four look-ups.
function summed(img, x0, y0, w, h, bg) {
  const W = w + 1;
  const t = new Float64Array(W * (h + 1) * 3);
  for (let y = 0; y < h; y++) {
    const sy = y0 + y;
    const rowIn = sy >= 0 && sy < img.height;
    const r0 = [0, 0, 0];
    for (let x = 0; x < w; x++) {
      const sx = x0 + x;
      let a = bg[0], b = bg[1], c = bg[2];
      if (rowIn && sx >= 0 && sx < img.width) {
        const i = (sy * img.width + sx) * 4;
        a = img.data[i]; b = img.data[i + 1]; c = img.data[i + 2];
      }
      r0[0] += a; r0[1] += b; r0[2] += c;
      const k = ((y + 1) * W + x + 1) * 3, up = (y * W + x + 1) * 3;
      t[k] = t[up] + r0[0];
      t[k + 1] = t[up + 1] + r0[1];
      t[k + 2] = t[up + 2] + r0[2];
    }
  }
  return { t, W };
}

// Per cell of `cell` x `cell` device px and per channel: the mean difference from `bg` of the
// w x h rectangle that starts (ox, oy) into the summed table `S`.
function grid(S, ox, oy, w, h, bg, cell) {
  const nx = Math.ceil(w / cell), ny = Math.ceil(h / cell);
  const g = new Float64Array(nx * ny * 3);
  const { t, W } = S;
  const area = cell * cell;
  for (let cy = 0; cy < ny; cy++) {
    const ya = oy + cy * cell, yb = oy + Math.min(h, (cy + 1) * cell);
    for (let cx = 0; cx < nx; cx++) {
      const xa = ox + cx * cell, xb = ox + Math.min(w, (cx + 1) * cell);
      const n = (xb - xa) * (yb - ya);
      for (let c = 0; c < 3; c++) {
        const sum = t[(yb * W + xb) * 3 + c] - t[(ya * W + xb) * 3 + c] - t[(yb * W + xa) * 3 + c] + t[(ya * W + xa) * 3 + c];
        g[(cy * nx + cx) * 3 + c] = (sum - bg[c] * n) / area;
      }
    }
  }
  return g;
}

function distance(a, b) {
  let num = 0, den = 0;
  for (let k = 0; k < a.length; k++) {
    num += Math.abs(a[k] - b[k]);
    den += Math.abs(a[k]) + Math.abs(b[k]);
  }
  return den > 0 ? num / den : 0;
}

// D between the canvas rectangle r (device px; moved right by canvasDx) and the rectangle r of
// the reference shot, the reference shifted by up to `shift` device px each way: the smallest.
function compare(canvasImg, refImg, r, bg, cell, shift, canvasDx = 0) {
  const a = grid(summed(canvasImg, r.x + canvasDx, r.y, r.w, r.h, bg), 0, 0, r.w, r.h, bg, cell);
  const S = summed(refImg, r.x - shift, r.y - shift, r.w + 2 * shift, r.h + 2 * shift, bg);
  let best = Infinity, at = [0, 0];
  for (let dy = -shift; dy <= shift; dy++) {
    for (let dx = -shift; dx <= shift; dx++) {
      const d = distance(a, grid(S, shift + dx, shift + dy, r.w, r.h, bg, cell));
      if (d < best) { best = d; at = [dx, dy]; }
    }
  }
  return { d: best, shift: at };
}

const chroma = (img, i) => Math.max(img.data[i], img.data[i + 1], img.data[i + 2]) - Math.min(img.data[i], img.data[i + 1], img.data[i + 2]);
const farFrom = (img, i, bg) => Math.max(Math.abs(img.data[i] - bg[0]), Math.abs(img.data[i + 1] - bg[1]), Math.abs(img.data[i + 2] - bg[2]));

// The most common colour of a rectangle (the background behind the text).
function modeColour(img, r) {
  const counts = new Map();
  for (let y = r.y; y < r.y + r.h; y++) {
    for (let x = r.x; x < r.x + r.w; x++) {
      const i = (y * img.width + x) * 4;
      const k = (img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2];
      counts.set(k, (counts.get(k) || 0) + 1);
    }
  }
  let best = 0, n = -1;
  for (const [k, c] of counts) if (c > n) { n = c; best = k; }
  return [best >> 16, (best >> 8) & 255, best & 255];
}

// Saturated pixels (colour emoji) in a rectangle.
function saturated(img, r, min = 96) {
  let n = 0;
  for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) if (chroma(img, (y * img.width + x) * 4) >= min) n++;
  return n;
}

// Columns with ink (a channel >= 64 away from bg) in rows y0..y1 and columns x0..x1: [first, last] or null.
function inkExtent(img, x0, x1, y0, y1, bg) {
  let first = null, last = null;
  for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
    for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
      if (farFrom(img, (y * img.width + x) * 4, bg) >= 64) {
        if (first === null) first = x;
        last = x;
        break;
      }
    }
  }
  return first === null ? null : [first, last];
}

// The same lines with every grapheme but spaces replaced by U+FFFD (the control that must fail).
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const tofu = (s) => [...segmenter.segment(s)].map((g) => (/^\s+$/u.test(g.segment) ? g.segment : '\uFFFD')).join('');

// ---- driving the page -------------------------------------------------------------------------

// Waits until the page has drawn a frame after `frames` and then stayed idle for 400 ms (nothing
// left to draw), and returns what its last frame published.
async function settle(page, frames = -1) {
  return page.waitFor((after) => {
    const c = window.Module?.chat;
    if (!c || c.frames <= after) return false;
    const s = window.__settle || (window.__settle = { f: -1, t: 0 });
    const now = performance.now();
    if (c.frames !== s.f) { s.f = c.frames; s.t = now; return false; }
    if (now - s.t < 400) return false;
    return { frames: c.frames, scrollY: c.scrollY, scrollMax: c.scrollMax, targets: c.targets, dropped: c.textDropped };
  }, frames, { timeout: 30000 });
}

async function wheel(page, dy) {
  const before = await page.evaluate(() => Module.chat.frames);
  await page.wheel(0, dy);
  return settle(page, before);
}

// Puts the reference blocks over the page (one per spec) and waits until they are painted. A
// block is laid out in device px at the port's own size (chatTextFont(px), line height
// chatTextLineHeight(px)) and scaled by 1 / devicePixelRatio, so it lands on the same device
// pixels as the canvas text: laid out at px / dpr CSS px instead, WebKit rounds glyph advances at
// the smaller size and a long line drifts by several device px at DPR 2.
async function showReference(page, specs) {
  await page.evaluate((list) => {
    document.getElementById('__textref')?.remove();
    const root = document.createElement('div');
    root.id = '__textref';
    root.style.cssText = 'position:fixed;left:0;top:0;width:0;height:0;z-index:2147483647;pointer-events:none';
    for (const s of list) {
      const box = document.createElement('div');
      box.style.cssText = `position:absolute;left:${s.x}px;top:${s.y}px;width:${s.w}px;height:${s.h}px;margin:0;padding:0;`
        + `background:${s.bg};color:${s.fg};` + (s.dpr === 1 ? '' : `transform-origin:0 0;transform:scale(${1 / s.dpr})`);
      box.style.font = s.font;
      s.lines.forEach((l, i) => {
        const d = document.createElement('div');
        d.textContent = l.text;
        // An RTL line ends at the box's right edge, starting on a whole pixel as the port places
        // it (x = round(box width - line width)): right-aligned text would start at a fraction of a
        // pixel, which Chromium and Firefox draw with other anti-aliasing.
        const left = l.rtl ? Math.floor(s.w - l.width + 0.5) : 0;
        d.style.cssText = `position:absolute;left:${left}px;top:${i * s.lh}px;width:${s.w - left + 8}px;height:${s.lh}px;line-height:${s.lh}px;`
          + `white-space:pre;direction:${l.rtl ? 'rtl' : 'ltr'};unicode-bidi:isolate;text-align:left;margin:0;padding:0`;
        box.appendChild(d);
      });
      root.appendChild(box);
    }
    document.body.appendChild(root);
    window.__refPainted = false;
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__refPainted = true; }));
  }, specs);
  await page.waitFor(() => window.__refPainted === true && document.fonts.status === 'loaded');
}

const hideReference = (page) => page.evaluate(() => document.getElementById('__textref')?.remove());

// A screenshot of what the page settled on: taken again until two in a row agree (a loaded
// machine's compositor can hand WebDriver a frame older than the one the targets describe:
// WebKit at DPR 2 once showed the first position's text where it stood before the last scroll).
// "Agree": fewer than 400 pixels differ (a blinking caret in the composer is not a change).
function differing(a, b) {
  if (a.width !== b.width || a.height !== b.height) return Infinity;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4)
    if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) n++;
  return n;
}
async function shot(page) {
  let png = decodePng(await page.screenshot());
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = decodePng(await page.screenshot());
    if (differing(again, png) < 400) return again;
    png = again;
  }
  return png;
}

// The font size (device px) the port drew message text at, from the boxes (see the header).
// The font size (device px) the port drew message text at (see the header): the candidates
// that reproduce every box's height (lines x line height) with no line wider than the box, then
// the one whose line widths best match the ink the canvas shows for one-line samples.
async function deriveSize(page, visible, dpr, canvasShot, scale, colRight) {
  const found = await page.evaluate(({ list, dpr }) => {
    const out = [];
    for (let px = 6; px <= 96; px += 0.5) {
      const widths = [];
      let ok = true;
      for (const v of list) {
        const W = Math.round(v.w * dpr), H = Math.round(v.h * dpr);
        const L = Module.chatTextLayout(v.text, px, W);
        const widest = Math.max(0, ...L.lines.map((l) => l.width));
        if (L.lines.length * L.lineHeight !== H || Math.ceil(widest) > W + 1) { ok = false; break; }
        widths.push(L.lines.length === 1 ? widest : null);
      }
      if (ok) out.push({ px, widths, lh: Module.chatTextLineHeight(px) });
    }
    return out;
  }, { list: visible, dpr });
  for (const f of found) {
    f.error = 0;
    visible.forEach((v, i) => {
      if (f.widths[i] === null) return;
      const y0 = Math.round(v.y * scale + f.lh * 0.25), y1 = Math.round(v.y * scale + f.lh * 0.75);
      const ink = inkExtent(canvasShot, Math.round((v.x - 8) * scale), colRight, y0, y1, v.bg);
      f.error += ink ? Math.abs(ink[1] - ink[0] + 1 - f.widths[i]) : 1e6;
    });
  }
  found.sort((a, b) => a.error - b.error || Math.abs(a.px - 16 * dpr) - Math.abs(b.px - 16 * dpr));
  return { px: found.length ? found[0].px : null, candidates: found.map((f) => `${f.px}: ink off by ${f.error.toFixed(0)} px`) };
}

// ---- one configuration ------------------------------------------------------------------------

async function checkConfiguration(t, { dpr, theme }) {
  const label = `dpr${dpr}-${theme}`;
  const context = await browser.newContext({ viewport: VIEWPORT, dpr, ...(theme === 'dark' ? { colorScheme: 'dark' } : {}) });
  const failures = [];
  const rows = [];
  const timing = { open: -Date.now(), scroll: 0, shots: 0, compare: 0 };
  try {
    const page = await context.newPage();
    await page.goto(`${stub.base}/?user=bob`);
    await waitLive(page);
    const env = await page.evaluate(() => ({ dpr: window.devicePixelRatio, dark: matchMedia('(prefers-color-scheme: dark)').matches, w: innerWidth }));
    assert.equal(env.dpr, dpr, 'devicePixelRatio');
    assert.equal(env.dark, theme === 'dark', 'prefers-color-scheme');
    await page.waitFor((list) => list.every((id) => document.querySelector(`#chat-log [data-message-id="${id}"]`)), Object.values(ids));
    timing.open += Date.now();

    // The history band: below the header (its buttons and the status line), above the typing line
    // and the composer (conservative: 40 CSS px off each).
    let st = await settle(page);
    const header = Math.max(...['close-chat', 'bell'].map((n) => st.targets[n]).filter(Boolean).map((r) => r[1] + r[3] / 2));
    const composer = await page.box('#composer');
    const band = { top: header + 40, bottom: composer.y - 40 };  // (let: widened at the bottom)
    // Wheel over the message column, away from the Copy buttons' column.
    await page.move(composer.x + composer.width * 0.75, (band.top + band.bottom) / 2);
    timing.scroll -= Date.now();
    for (let i = 0; i < 40 && st.scrollY > 0; i++) st = await wheel(page, -1000);
    timing.scroll += Date.now();
    assert.equal(st.scrollY, 0, 'scrolled to the top');

    let px = null, lh = 0, fg = null;
    let notch = 80;  // CSS px per wheel notch (ImGui: 5 x the font size); measured below
    const done = new Map();  // key -> Set of line indexes compared
    const shots = [];
    const compares = [];
    for (let step = 0; step < 60; step++) {
      timing.shots -= Date.now();
      const canvasShot = await shot(page);
      timing.shots += Date.now();
      const scale = canvasShot.width / env.w;
      const colRight = Math.round((composer.x + composer.width) * scale) - Math.round(14 * scale);  // short of the scrollbar
      // What this position shows that was not compared yet.
      const plan = [];
      for (const s of SAMPLES) {
        const r = st.targets[`text:${ids[s.key]}`];
        if (!r) continue;
        const box = { x: r[0] - r[2] / 2, y: r[1] - r[3] / 2, w: r[2], h: r[3] };
        plan.push({ s, box });
      }
      if (px === null && plan.length) {
        const inBand = plan.filter((p) => p.box.y >= band.top && p.box.y + p.box.h <= band.bottom);
        const bgAt = (p) => modeColour(canvasShot, { x: Math.round(p.box.x * scale), y: Math.round(p.box.y * scale), w: Math.round(p.box.w * scale), h: Math.round(p.box.h * scale) });
        const size = await deriveSize(page, inBand.map((p) => ({ text: p.s.text, ...p.box, bg: bgAt(p) })), dpr, canvasShot, scale, colRight);
        t.diagnostic(`${ENGINE} ${label}: text size ${size.px} device px (candidates ${JSON.stringify(size.candidates)})`);
        assert.ok(size.px, `no font size reproduces the text boxes: ${JSON.stringify(plan.map((p) => [p.s.key, p.box]))}`);
        px = size.px;
        lh = await page.evaluate((p) => Module.chatTextLineHeight(p), px);
      }
      // At the bottom the last message's box is wholly shown (the content ends there).
      const atBottom = st.scrollY >= st.scrollMax - 0.5;
      if (atBottom && plan.length) band.bottom = Math.max(band.bottom, ...plan.map((p) => p.box.y + p.box.h));
      const work = [];
      const layouts = await page.evaluate((list) => list.map(([text, p, W]) => Module.chatTextLayout(text, p, W)),
        plan.map(({ s, box }) => [s.text, px, Math.round(box.w * dpr)]));
      for (const [n, { s, box }] of plan.entries()) {
        const lay = layouts[n];
        const lhC = lh / dpr;
        const seen = done.get(s.key) || new Set();
        const fits = box.y >= band.top && box.y + box.h <= band.bottom;
        const tall = box.h > band.bottom - band.top;
        let lines = [];
        if (fits) lines = lay.lines.map((_, i) => i);
        else if (tall) lines = lay.lines.map((_, i) => i).filter((i) => box.y + i * lhC >= band.top && box.y + (i + 1) * lhC <= band.bottom);
        lines = lines.filter((i) => !seen.has(i));
        if (!lines.length) continue;
        // A run of whole lines (fits: all of them).
        const i0 = lines[0];
        let i1 = i0;
        while (lines.includes(i1 + 1)) i1++;
        work.push({ s, box, lay, i0, i1 });
      }
      if (work.length) {
        shots.push(crop(canvasShot, 0, 0, canvasShot.width, canvasShot.height));
        const dev = (v) => Math.round(v * scale);
        for (const w of work) {
          w.rect = { x: dev(w.box.x), y: dev(w.box.y + w.i0 * lh / dpr), w: dev(w.box.w), h: Math.round((w.i1 - w.i0 + 1) * lh) };
          w.bg = modeColour(canvasShot, w.rect);
        }
        if (!fg) {
          // The theme's text colour: the grey (low chroma) farthest from the background in these crops.
          let best = -1;
          for (const w of work) {
            for (let y = w.rect.y; y < w.rect.y + w.rect.h; y++) {
              for (let x = w.rect.x; x < w.rect.x + w.rect.w; x++) {
                const i = (y * canvasShot.width + x) * 4;
                if (chroma(canvasShot, i) > 24) continue;
                const d = farFrom(canvasShot, i, w.bg);
                if (d > best) { best = d; fg = [canvasShot.data[i], canvasShot.data[i + 1], canvasShot.data[i + 2]]; }
              }
            }
          }
          t.diagnostic(`${ENGINE} ${label}: background ${JSON.stringify(work[0].bg)}, text colour ${JSON.stringify(fg)}`);
        }
        const font = await page.evaluate((p) => Module.chatTextFont(p), px);
        const specs = (tofuLines) => work.map((w) => ({
          x: w.box.x, y: w.box.y, w: Math.round(w.box.w * dpr), h: w.lay.lines.length * lh, lh, dpr,
          bg: `rgb(${w.bg.join(',')})`, fg: `rgb(${fg.join(',')})`, font,
          lines: w.lay.lines.map((l) => ({ text: tofuLines ? tofu(l.text) : l.text, rtl: l.rtl, width: l.width })),
        }));
        timing.shots -= Date.now();
        await showReference(page, specs(false));
        const refShot = await shot(page);
        await showReference(page, specs(true));
        const tofuShot = await shot(page);
        timing.shots += Date.now();
        await hideReference(page);
        timing.compare -= Date.now();

        const cell = Math.max(2, Math.round(lh / CELLS_PER_LINE));
        for (const w of work) {
          const { s, box, lay, rect, bg } = w;
          const where = `${ENGINE} ${label} ${s.key} (${s.name}), lines ${w.i0 + 1}-${w.i1 + 1}/${lay.lines.length}`;
          // The box matches the port's layout at the derived size.
          const widest = Math.max(...lay.lines.map((l) => l.width));
          if (Math.round(lay.lines.length * lh) !== Math.round(box.h * dpr) || Math.ceil(widest) > Math.round(box.w * dpr) + 1)
            failures.push(`${where}: box ${JSON.stringify(box)} is not the port's layout at ${px} px (${lay.lines.length} lines of ${lh}, widest ${widest})`);
          if (s.wraps && lay.lines.length < 2) failures.push(`${where}: expected to wrap, got one line`);
          if (s.wraps && w.i0 === 0 && lay.lines.length <= 6) {
            // Where the port broke the lines (a break inside a word would read wrongly).
            const g = (x) => [...segmenter.segment(x)].map((y) => y.segment);
            const breaks = lay.lines.slice(0, -1).map((l, i) => `…${g(l.text).slice(-4).join('')}|${g(lay.lines[i + 1].text).slice(0, 4).join('')}…`);
            t.diagnostic(`${ENGINE} ${label} ${s.key}: line breaks ${breaks.join('  ')}`);
          }
          // Alignment and containment, line by line (the middle half of each line's rows): the
          // canvas ink searched across the whole text column, the reference's in its block.
          const boxL = rect.x, boxR = rect.x + rect.w;
          const tol = ALIGN_TOLERANCE * scale;
          const misplaced = [];
          const offsets = [];
          for (let i = w.i0; i <= w.i1; i++) {
            const y0 = rect.y + Math.round((i - w.i0 + 0.25) * lh), y1 = rect.y + Math.round((i - w.i0 + 0.75) * lh);
            const line = lay.lines[i];
            if (!line.text.trim()) continue;
            if (line.rtl !== !!s.rtl) failures.push(`${where}: line ${i + 1} laid out ${line.rtl ? 'RTL' : 'LTR'}, expected ${s.rtl ? 'RTL' : 'LTR'}`);
            const ink = inkExtent(canvasShot, boxL - Math.round(8 * scale), colRight, y0, y1, bg);
            const refInk = inkExtent(refShot, boxL, boxR, y0, y1, bg);
            if (!ink) { failures.push(`${where}: line ${i + 1} has no ink anywhere in its row of the text column`); continue; }
            if (refInk) offsets.push(line.rtl ? ink[1] - refInk[1] : ink[0] - refInk[0]);
            const inside = ink[0] >= boxL - tol && ink[1] < boxR + tol;
            // The reference line is aligned to the box by construction: its ink edge is the box's
            // edge less the glyph's side bearing.
            const edge = line.rtl ? (refInk ? refInk[1] + 1 : boxR) : (refInk ? refInk[0] : boxL);
            const aligned = line.rtl ? Math.abs(ink[1] + 1 - edge) <= tol : Math.abs(ink[0] - edge) <= tol;
            if (!inside || !aligned) misplaced.push({ line: i + 1, rtl: line.rtl, ink: [ink[0] / scale, (ink[1] + 1) / scale], box: [boxL / scale, boxR / scale] });
          }
          // Where the canvas drew this text relative to the box, if not in it (a misplaced box):
          // the comparison is then made where the ink is, so the shaping is still checked.
          offsets.sort((a, b) => a - b);
          const dx = misplaced.length && offsets.length ? offsets[offsets.length >> 1] : 0;
          const real = compare(canvasShot, refShot, rect, bg, cell, Math.round(scale), dx);
          const control = compare(canvasShot, tofuShot, rect, bg, cell, Math.round(scale), dx);
          const row = { key: s.key, lines: `${w.i0 + 1}-${w.i1 + 1}/${lay.lines.length}`, d: real.d, control: control.d, shift: real.shift, dx: dx / scale };
          if (misplaced.length) {
            const m = misplaced[0];
            failures.push(`${where}: ${misplaced.length} line(s) outside the text:${ids[s.key]} box: line ${m.line} (${m.rtl ? "RTL: must end at the box's right edge" : "LTR: must start at the box's left edge"}) has ink at x=${m.ink[0].toFixed(1)}..${m.ink[1].toFixed(1)} CSS px, the box is x=${m.box[0].toFixed(1)}..${m.box[1].toFixed(1)}; compared where the ink is (${(dx / scale).toFixed(1)} px off the box): D=${real.d.toFixed(3)}`);
          }
          if (s.emoji) {
            row.saturated = saturated(canvasShot, { ...rect, x: rect.x + dx });
            if (row.saturated < 40 * dpr * dpr) failures.push(`${where}: only ${row.saturated} saturated pixels: colour emoji lost their colour`);
          }
          if (!(real.d <= THRESHOLD)) failures.push(`${where}: D = ${real.d.toFixed(3)} > ${THRESHOLD} (the canvas and the DOM draw it differently)`);
          if (!(control.d >= CONTROL_MIN)) failures.push(`${where}: the U+FFFD control gives D = ${control.d.toFixed(3)} < ${CONTROL_MIN}: the measure cannot tell this sample from boxes`);
          rows.push(row);
          const seen = done.get(s.key) || new Set();
          for (let i = w.i0; i <= w.i1; i++) seen.add(i);
          done.set(s.key, seen);
          compares.push(stack([crop(canvasShot, rect.x + dx, rect.y, rect.w, rect.h), crop(refShot, rect.x, rect.y, rect.w, rect.h),
            crop(tofuShot, rect.x, rect.y, rect.w, rect.h)], { direction: 'x', gap: 6 }));
        }
        timing.compare += Date.now();
      }
      if (atBottom) break;
      // Down to the next line not compared yet: its top to the band's top (whole wheel notches of
      // `notch` CSS px, at most the band's height); below the view, a band's height.
      const layoutOf = new Map(plan.map((p, n) => [p.s.key, { box: p.box, lay: layouts[n] }]));
      let want = band.bottom - band.top;
      for (const s of SAMPLES) {
        const seen = done.get(s.key);
        const at = layoutOf.get(s.key);
        if (!at) { if (!seen) break; continue; }
        const next = at.lay.lines.findIndex((_, i) => !seen?.has(i));
        if (next < 0) continue;
        want = Math.min(want, at.box.y + next * lh / dpr - band.top);
        break;
      }
      const notches = Math.max(1, Math.floor(want / notch));
      timing.scroll -= Date.now();
      const y0 = st.scrollY;
      st = await wheel(page, 100 * notches);
      timing.scroll += Date.now();
      if (st.scrollY > y0 && st.scrollY < st.scrollMax - 0.5) notch = (st.scrollY - y0) / notches;  // what a notch really scrolls
    }
    // Every sample, every line, was compared.
    for (const s of SAMPLES) {
      const seen = done.get(s.key);
      const r = rows.find((x) => x.key === s.key);
      const total = r ? Number(r.lines.split('/')[1]) : 0;
      if (!seen || seen.size !== total) failures.push(`${ENGINE} ${label} ${s.key}: only ${seen ? seen.size : 0} of ${total || '?'} lines were wholly visible at some position`);
    }
    const out = path.join(SHOTS, `${ENGINE}-text-${label}.png`);
    writeFileSync(out, encodePng(stack(shots, { gap: 8 })));
    writeFileSync(path.join(SHOTS, `${ENGINE}-text-compare-${label}.png`), encodePng(stack(compares, { gap: 6 })));
    t.diagnostic(`${ENGINE} ${label}: screenshots ${out} (${shots.length} positions); ms: ${JSON.stringify(timing)}`);
    for (const r of rows) {
      t.diagnostic(`${ENGINE} ${label} ${r.key.padEnd(9)} lines ${r.lines.padEnd(8)} D=${r.d.toFixed(3)} control(U+FFFD)=${r.control.toFixed(3)}`
        + ` shift=${r.shift.join(',')}${r.saturated !== undefined ? ` saturated=${r.saturated}` : ''}${r.dx ? ` (compared ${r.dx.toFixed(1)} px off its box, where the ink is)` : ''}`);
    }
    assert.deepEqual(await page.pageErrors(), []);
  } finally {
    await context.close();
  }
  assert.deepEqual(failures, [], failures.join('\n'));
}

for (const dpr of [1, 2]) {
  for (const theme of ['light', 'dark']) {
    test(`${ENGINE}: every script reads on the canvas as the browser draws it (DPR ${dpr}, ${theme})`, async (t) => {
      if (dpr !== 1 && !skipUnless(t, browser, 'dpr', `device pixel ratio ${dpr}`)) return;
      if (theme === 'dark' && !skipUnless(t, browser, 'colorScheme', 'dark colour scheme')) return;
      await checkConfiguration(t, { dpr, theme });
    });
  }
}
