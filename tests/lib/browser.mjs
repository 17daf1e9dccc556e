// The browser tests' one driver interface. Each scenario is written once against it and runs in
// the engine named by ENGINE (chromium, firefox or webkit; default chromium):
//   chromium  Debian's Chromium through playwright-core (headless, CDP)     browser-chromium.mjs
//   firefox   Debian's Firefox ESR through puppeteer-core (WebDriver BiDi)  browser-firefox.mjs
//   webkit    WebKitGTK's MiniBrowser through WebKitWebDriver + selenium    browser-webkit.mjs
// Firefox and WebKit run in a real window on a private Xvfb display started per launch (see
// display.mjs); nothing is downloaded, every browser is a Debian package.
//
//   const browser = await launch();                 // browser.engine, browser.version, browser.can
//   const ctx = await browser.newContext({ viewport, dpr, touch, colorScheme, clipboard });
//   const page = await ctx.newPage();               // or openChat(browser, base, user)
//   page.goto(url) .reload() .evaluate(fn, arg) .waitFor(fn, arg, {timeout}) .focus(sel) .value(sel)
//   page.type(text) .press('Shift+Enter') .keyDown('Control') .keyUp('Control')     real key events
//   page.click(x, y) .move(x, y) .down() .up() .wheel(dx, dy) .tap(x, y)            CSS px
//   page.screenshot({ path }) -> PNG   .pixel(x, y) -> [r, g, b, a]   .setFiles(sel, file)
//   page.popup(action) -> url of the window the action opened   .setOffline(bool)   .close()
//   page.pageErrors() -> uncaught errors and unhandled rejections the page reported
//   page.ime -> { setComposition(text), insertText(text), deadKey() } where the driver has one
//
// browser.can.<feature> is true, or a string saying why the engine cannot do that step. Tests ask
// `need(t, browser, feature, step)`: a step that cannot run is reported by name with the reason
// (a diagnostic line in the test's output), never skipped silently.
export const ENGINE = process.env.ENGINE || 'chromium';
export const ENGINES = ['chromium', 'firefox', 'webkit'];

export async function launch(options = {}) {
  if (!ENGINES.includes(ENGINE)) throw new Error(`ENGINE=${ENGINE}: expected one of ${ENGINES.join(', ')}`);
  const mod = await import(`./browser-${ENGINE}.mjs`);
  return mod.launch(options);
}

// True when the engine can do `feature`; otherwise reports the skipped step and returns false.
export function need(t, browser, feature, step) {
  const can = browser.can[feature];
  if (can === true) return true;
  t.diagnostic(`${ENGINE}: skipped step "${step}": ${can || `no ${feature} support`}`);
  return false;
}

// For a test that is that one step: marks the whole test skipped, by name, with the reason.
export function skipUnless(t, browser, feature, step) {
  const can = browser.can[feature];
  if (can === true) return true;
  t.skip(`${ENGINE} cannot do "${step}": ${can || `no ${feature} support`}`);
  return false;
}

// What every engine's page shares, built on the engine's primitives.
export class BasePage {
  // Polls `fn(arg)` in the page until it returns a truthy value, which is returned.
  async waitFor(fn, arg, { timeout = 15000, interval = 50 } = {}) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await this.evaluate(fn, arg);
        if (last) return last;
      } catch (e) {
        if (Date.now() > end) throw e;
      }
      if (Date.now() > end) throw new Error(`waitFor timed out after ${timeout} ms in ${ENGINE}: ${String(fn).slice(0, 200)} (arg ${JSON.stringify(arg)}, last ${JSON.stringify(last)})`);
      await sleep(interval);
    }
  }
  wait(ms) { return sleep(ms); }
  // Uncaught errors and unhandled rejections the page reported.
  async pageErrors() { return this.errors; }
  focus(selector) { return this.evaluate((s) => { document.querySelector(s).focus(); }, selector); }
  value(selector) { return this.evaluate((s) => document.querySelector(s).value, selector); }
  text(selector) { return this.evaluate((s) => document.querySelector(s).textContent, selector); }
  attr(selector, name) { return this.evaluate(([s, n]) => document.querySelector(s).getAttribute(n), [selector, name]); }
  box(selector) {
    return this.evaluate((s) => { const r = document.querySelector(s).getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; }, selector);
  }
  // The element's box once it is shown and has stopped moving (the panel places the composer
  // after its first frames; on a busy machine that placement can land after the page is live).
  // A person taps what they see settled; so do the tests.
  async settledBox(selector, { timeout = 10000 } = {}) {
    const end = Date.now() + timeout;
    let last = null;
    for (;;) {
      const b = await this.box(selector);
      const same = last && b.x === last.x && b.y === last.y && b.width === last.width && b.height === last.height;
      if (same && b.width > 0 && b.height > 0) return b;
      if (Date.now() > end) throw new Error(`${selector} did not settle: last box ${JSON.stringify(b)}`);
      last = b;
      await this.wait(150);
    }
  }
  async clickSelector(selector) {
    const b = await this.settledBox(selector);
    await this.click(b.x + b.width / 2, b.y + b.height / 2);
  }
  async tapSelector(selector) {
    const b = await this.settledBox(selector);
    await this.tap(b.x + b.width / 2, b.y + b.height / 2);
  }
  // One screen pixel at CSS position (x, y): [r, g, b, a].
  async pixel(x, y) {
    const { decodePng } = await import('./png.mjs');
    const png = decodePng(await this.screenshot());
    const dpr = png.width / (await this.evaluate(() => window.innerWidth));
    return png.pixel(Math.round(x * dpr), Math.round(y * dpr));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Opens the chat as `user` in a context of its own and waits until the panel is live (socket
// connected, group joined). Page errors: `await page.pageErrors()`.
export async function openChat(browser, base, user, viewport = { width: 900, height: 640 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/?user=${user}`);
  await waitLive(page);
  return { page, context };
}

export async function waitLive(page, timeout = 60000) {
  try {
    return await page.waitFor(() => document.getElementById('chat-status')?.textContent === 'connected', null, { timeout });
  } catch (e) {
    // Say where the page stood (signing in, subscribing, catching up, an error...).
    const at = await page.evaluate(() => ({ status: document.getElementById('chat-status')?.textContent, frames: window.Module?.chat?.frames }))
      .catch((x) => ({ unreadable: String(x) }));
    throw new Error(`not live after ${timeout} ms in ${ENGINE}: ${JSON.stringify(at)}`, { cause: e });
  }
}

export function logText(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-log [data-message-id]')].map((e) => e.textContent));
}

// Clicks a named canvas item (Module.chat.targets, published every drawn frame) where a person
// would: the centre of its rect. `name` may end with '*' to match a prefix.
export async function clickTarget(page, name, { timeout = 15000 } = {}) {
  await findTarget(page, name, { timeout });
  await drawingSettled(page);
  const [x, y] = await findTarget(page, name, { timeout });
  // As a person does: the pointer comes to rest over the target (the page draws the hover), then
  // presses, rather than a move, press and release all inside one frame.
  const frames = await page.evaluate(() => Module.chat.frames);
  await page.move(x, y);
  for (let i = 0; i < 20 && (await page.evaluate(() => Module.chat.frames)) === frames; i++) await sleep(50);
  await page.click(x, y);
}

// Waits (at most 3 s) until the page has drawn no frame for 250 ms: a person clicks what has
// stopped moving (a thumbnail that just decoded, a list that is still settling its heights).
export async function drawingSettled(page) {
  const end = Date.now() + 3000;
  let last = await page.evaluate(() => Module.chat.frames);
  while (Date.now() < end) {
    await sleep(250);
    const now = await page.evaluate(() => Module.chat.frames);
    if (now === last) return;
    last = now;
  }
}

// Waits until the page has drawn a frame after `after` (Module.chat.frames; -1: any) and then
// drawn nothing for `quiet` ms: what the last frame published is the app's answer to everything
// before it (a scroll that has run its course, a theme applied). Unlike drawingSettled, it fails
// when the page does not settle within `timeout` rather than going on. Returns Module.chat's
// frames, scrollY and scrollMax then.
export function settled(page, { after = -1, quiet = 400, timeout = 30000 } = {}) {
  return page.waitFor(([a, q]) => {
    const c = window.Module?.chat;
    if (!c || c.frames <= a) return false;
    const s = window.__settled || (window.__settled = { f: -1, t: 0 });
    const now = performance.now();
    if (c.frames !== s.f) { s.f = c.frames; s.t = now; return false; }
    if (now - s.t < q) return false;
    return { frames: c.frames, scrollY: c.scrollY, scrollMax: c.scrollMax };
  }, [after, quiet], { timeout });
}

// A named canvas target's [x, y, w, h] in CSS px, once it holds still: the same box in two reads
// 200 ms apart (a thumbnail that just loaded, or a list still scrolling to its end, moves).
export async function findTarget(page, name, { timeout = 15000 } = {}) {
  const end = Date.now() + timeout;
  const read = (left) => page.waitFor((n) => {
    const t = window.Module?.chat?.targets || {};
    const key = n.endsWith('*') ? Object.keys(t).find((k) => k.startsWith(n.slice(0, -1))) : (n in t ? n : undefined);
    return key ? t[key] : null;
  }, name, { timeout: Math.max(1000, left) });
  let last = await read(end - Date.now());
  for (;;) {
    await sleep(200);
    const now = await read(end - Date.now());
    if (now.every((v, i) => v === last[i])) return now;
    if (Date.now() > end) throw new Error(`target ${name} did not settle: last ${JSON.stringify(now)}`);
    last = now;
  }
}

// Wakes the page so it draws a frame (and republishes its targets).
export async function nudge(page) {
  await page.move(5, 5);
  await page.move(6, 6);
}
