// The web platform layer in Chromium: text entry, clipboard, DPI, wheel, context loss, touch,
// idle cost and the accessible mirror.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api } from '../lib/stub.mjs';
import { launch, openChat, logText, clickTarget } from '../lib/browser.mjs';

let stub;
let browser;
before(async () => { stub = await startStub({ args: ['--send-rate', '0'] }); browser = await launch(); });
after(async () => { await browser?.close(); await stub?.stop(); });

const waitLog = (page, line) => page.waitForFunction((l) => [...document.querySelectorAll('#chat-log [data-message-id]')]
  .some((e) => e.textContent === l), line, { timeout: 15000 });
const frames = (page) => page.evaluate(() => Module.chat.frames);
// A screenshot that is not one flat colour (the canvas really drew).
function notBlank(png) { return new Set(png.subarray(100).filter((_, i) => i % 7 === 0)).size > 20; }

test('IME composition, dead keys and Enter-while-composing in the composer', async () => {
  const { page, context } = await openChat(browser, stub.base, 'alice');
  await page.focus('#composer');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.imeSetComposition', { text: 'にほ', selectionStart: 2, selectionEnd: 2 });
  // Enter while composing belongs to the IME: nothing is sent.
  await page.evaluate(() => document.getElementById('composer').dispatchEvent(
    new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true })));
  await cdp.send('Input.insertText', { text: '日本' });
  // A dead key followed by a letter commits the composed character.
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
  await cdp.send('Input.insertText', { text: 'é' });
  assert.equal(await page.inputValue('#composer'), '日本é');
  assert.equal(await page.evaluate(() => Module.chat.submits.length), 0);
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second line');
  assert.equal(await page.inputValue('#composer'), '日本é\nsecond line');
  await page.keyboard.press('Enter');
  await waitLog(page, 'alice: 日本é\nsecond line');
  assert.equal(await page.inputValue('#composer'), '');
  await context.close();
});

test('system clipboard: copy a message, paste into the composer', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stub.base });
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=bob`);
  await page.waitForFunction(() => document.getElementById('chat-status')?.textContent === 'connected');
  // The Copy button of the seeded welcome message (the first one in the log).
  const welcome = await page.evaluate(() => document.querySelector('#chat-log [data-message-id]').dataset.messageId);
  await clickTarget(page, `copy:${welcome}`);
  await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('Welcome to the launch channel'));
  await page.focus('#composer');
  await page.keyboard.press('Control+V');
  assert.match(await page.inputValue('#composer'), /^Welcome to the launch channel/);
  await context.close();
});

for (const scale of [1, 1.5, 2, 3]) {
  test(`device scale factor ${scale}: crisp canvas at full resolution and clicks land on their target`, async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: scale });
    const page = await context.newPage();
    await page.goto(`${stub.base}/?user=carol`);
    await page.waitForFunction(() => document.getElementById('chat-status')?.textContent === 'connected');
    const size = await page.evaluate(() => [Module.canvas.width, Module.canvas.height]);
    assert.deepEqual(size, [Math.round(800 * scale), Math.round(600 * scale)], 'backing store = CSS size x devicePixelRatio');
    const shot = await page.screenshot({ path: `${process.env.SCREENSHOT_DIR || '/tmp'}/panel-dpr${scale}.png` });
    assert.ok(notBlank(shot));
    // "Close chat" sits at the right of the header: the click must hit it at either scale.
    const t = await page.evaluate(() => Module.chat.targets['close-chat']);
    assert.ok(t[0] > 600 && t[1] < 40, `the button is in the header's right part (${t})`);
    await clickTarget(page, 'close-chat');
    await page.waitForFunction(() => document.getElementById('chat-status').textContent === 'closed');
    await context.close();
  });
}

test('wheel scrolls the history by a page-like distance in the natural direction', async () => {
  const token = await login(stub.base, 'alice');
  for (let i = 0; i < 60; i++) await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: `filler ${i}`, clientMessageId: `fill-${i}` });
  const { page, context } = await openChat(browser, stub.base, 'bob');
  await page.waitForFunction(() => Module.chat.scrollMax > 500 && Math.abs(Module.chat.scrollY - Module.chat.scrollMax) < 2);
  const start = await page.evaluate(() => Module.chat.scrollY);
  await page.mouse.move(400, 300);
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -100);  // three notches up
  await page.waitForFunction((s) => Module.chat.scrollY < s - 10, start);
  await page.waitForTimeout(200);
  const moved = start - await page.evaluate(() => Module.chat.scrollY);
  assert.ok(moved >= 150 && moved <= 450, `three notches moved ${moved} px (a page moves ~300)`);
  await page.mouse.wheel(0, 100);
  await page.waitForFunction((s) => Module.chat.scrollY > s, start - moved);
  await context.close();
});

test('WebGL context loss is survived: drawing resumes after restore', async () => {
  const { page, context } = await openChat(browser, stub.base, 'alice');
  await page.evaluate(() => { window.__lose = Module.canvas.getContext('webgl2').getExtension('WEBGL_lose_context'); window.__lose.loseContext(); });
  await page.waitForTimeout(300);
  await page.evaluate(() => window.__lose.restoreContext());
  const before = await frames(page);
  await page.mouse.move(300, 300);
  await page.waitForFunction((b) => Module.chat.frames > b, before);
  await page.waitForTimeout(300);
  assert.ok(notBlank(await page.screenshot()), 'the panel is drawn again after the context came back');
  await page.keyboard.type('after context loss');
  await page.keyboard.press('Enter');
  await waitLog(page, 'alice: after context loss');
  await context.close();
});

test('mobile viewport with touch: tap the composer, type, send', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 720 }, hasTouch: true, isMobile: true, deviceScaleFactor: 3 });
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=carol`);
  await page.waitForFunction(() => document.getElementById('chat-status')?.textContent === 'connected');
  await page.evaluate(() => document.activeElement.blur());
  await page.tap('#composer');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'composer');
  const box = await page.locator('#composer').boundingBox();
  assert.ok(box.y + box.height <= 720 && box.width > 300, 'the composer is on screen and full width');
  await page.keyboard.type('sent from a phone');
  await page.keyboard.press('Enter');
  await waitLog(page, 'carol: sent from a phone');
  // A single tap on a canvas button hits it the first time.
  const t = await page.evaluate(() => Module.chat.targets['close-chat']);
  await page.touchscreen.tap(t[0], t[1]);
  await page.waitForFunction(() => document.getElementById('chat-status').textContent === 'closed');
  await context.close();
});

test('idle page draws no frames; a live message wakes it', async () => {
  const { page, context } = await openChat(browser, stub.base, 'bob');
  await page.waitForTimeout(700);
  const a = await frames(page);
  await page.waitForTimeout(1000);
  const b = await frames(page);
  assert.equal(b, a, 'no frames drawn while nothing changes');
  const token = await login(stub.base, 'alice');
  await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: 'wake up', clientMessageId: `wake-${Date.now()}` });
  await waitLog(page, 'alice: wake up');
  await page.waitForFunction((n) => Module.chat.frames > n, b);
  await context.close();
});

test('the accessible mirror: roles, labels, text content only', async () => {
  const { page, context } = await openChat(browser, stub.base, 'alice');
  const roles = await page.evaluate(() => ({
    log: [document.getElementById('chat-log').getAttribute('role'), document.getElementById('chat-log').getAttribute('aria-live')],
    status: document.getElementById('chat-status').getAttribute('role'),
    composer: document.getElementById('composer').getAttribute('aria-label'),
  }));
  assert.deepEqual(roles, { log: ['log', 'polite'], status: 'status', composer: 'Message' });
  await page.keyboard.type('<img src=x onerror=alert(1)><b>bold?</b>');
  await page.keyboard.press('Enter');
  await waitLog(page, 'alice: <img src=x onerror=alert(1)><b>bold?</b>');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#chat-log img, #chat-log b').length), 0);
  assert.ok((await logText(page)).length >= 2);
  await context.close();
});

test('dragging the message list scrolls it (touch is delivered as a drag)', async () => {
  const token = await login(stub.base, 'carol');
  for (let i = 0; i < 40; i++) await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: `drag filler ${i}`, clientMessageId: `drag-${i}` });
  const { page, context } = await openChat(browser, stub.base, 'bob');
  await page.waitForFunction(() => Module.chat.scrollMax > 300 && Math.abs(Module.chat.scrollY - Module.chat.scrollMax) < 2);
  const start = await page.evaluate(() => Module.chat.scrollY);
  await page.mouse.move(600, 150);
  await page.mouse.down();
  for (let y = 160; y <= 400; y += 20) await page.mouse.move(600, y);
  await page.mouse.up();
  await page.waitForFunction((s) => Module.chat.scrollY < s - 150, start);
  await context.close();
});

test('a browser without WebGL2 gets a clear error page instead of a dead canvas', async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const real = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (type, ...rest) { return type === 'webgl2' ? null : real.call(this, type, ...rest); };
  });
  const page = await context.newPage();
  await page.goto(`${stub.base}/?user=alice`);
  await page.waitForFunction(() => getComputedStyle(document.getElementById('fatal')).display !== 'none');
  assert.match(await page.textContent('#fatal'), /WebGL2/);
  assert.equal(await page.getAttribute('#fatal', 'role'), 'alert');
  await context.close();
});

test('modifiers do not stick after the window loses focus', async () => {
  const { page, context } = await openChat(browser, stub.base, 'alice');
  await page.mouse.click(600, 300);  // focus the canvas (not the composer)
  await page.keyboard.down('Control');
  await page.mouse.move(610, 300);
  await page.waitForFunction(() => Module.chat.keyCtrl === true);
  // Alt-Tab away: the browser sends blur and never the keyup.
  await page.evaluate(() => window.dispatchEvent(new Event('blur')));
  await page.mouse.move(620, 300);
  await page.waitForFunction(() => Module.chat.keyCtrl === false);
  await context.close();
});

test('a hidden tab keeps receiving messages without drawing', async () => {
  const { page, context } = await openChat(browser, stub.base, 'bob');
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForTimeout(300);
  const before = await page.evaluate(() => Module.chat.frames);
  const token = await login(stub.base, 'alice');
  await api(stub.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: 'while hidden', clientMessageId: `hidden-${Date.now()}` });
  await waitLog(page, 'alice: while hidden');
  assert.equal(await page.evaluate(() => Module.chat.frames), before, 'no frames drawn while hidden');
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForFunction((b) => Module.chat.frames > b, before);
  await context.close();
});
