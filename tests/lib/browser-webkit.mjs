// WebKit (WebKitGTK's MiniBrowser, Safari's engine) through WebKitWebDriver (W3C WebDriver) and
// selenium-webdriver, in real windows on a private Xvfb display. WebKitWebDriver holds one session
// at a time, so every context is a WebKitWebDriver on a free port with its own MiniBrowser (its
// own cookies and storage, like another browser profile).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Builder, Key, Origin } from 'selenium-webdriver';
import { BasePage, sleep } from './browser.mjs';
import { freePort, spawnTied, startDisplay } from './display.mjs';

const MINIBROWSER = process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const WHY = {
  fractionalDpr: 'WebDriver has no device-pixel-ratio emulation; GTK scales windows by whole numbers only (GDK_SCALE)',
  touch: "WebKitGTK's WebDriver delivers touch pointer actions as mouse events (no TouchEvent reaches the page)",
  offline: 'WebDriver classic has no network emulation',
  ime: 'W3C WebDriver has no IME: key actions send whole characters, never composition events',
  deadKeys: 'W3C WebDriver key actions carry characters, not layout keys: a dead key cannot be pressed',
  liveColorScheme: "MiniBrowser takes its colour scheme at start (--dark-mode); WebDriver cannot switch the system's while a page is open",
};

function version() {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libwebkit2gtk-4.1-0']).toString();
    return `WebKitGTK ${out.split('-')[0]}`;
  } catch { return 'WebKitGTK'; }
}

// `webgl2: false` starts MiniBrowser with WebGL switched off (--enable-webgl=false).
export async function launch({ webgl2 = true } = {}) {
  const display = await startDisplay();
  const files = mkdtempSync(path.join(tmpdir(), 'webkit-files-'));
  const contexts = new Set();
  return {
    engine: 'webkit',
    version: version(),
    can: {
      dpr: true, colorScheme: true, popups: true, clipboard: true,
      fractionalDpr: WHY.fractionalDpr, touch: WHY.touch, offline: WHY.offline, ime: WHY.ime, deadKeys: WHY.deadKeys,
      liveColorScheme: WHY.liveColorScheme,
    },
    async newContext({ viewport = { width: 900, height: 640 }, dpr = 1, touch = false, colorScheme } = {}) {
      if (touch) throw new Error(WHY.touch);
      if (!Number.isInteger(dpr)) throw new Error(WHY.fractionalDpr);
      const port = await freePort();
      const env = { ...process.env, DISPLAY: display.display, GDK_SCALE: String(dpr), GDK_DPI_SCALE: '1' };
      const server = spawnTied('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], { env });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        try { if ((await fetch(`${base}/status`)).ok) break; } catch { /* not yet */ }
        if (i > 200) { await server.stop(); throw new Error(`WebKitWebDriver did not start:\n${server.stderr()}`); }
        await sleep(50);
      }
      const args = ['--automation'];
      if (!webgl2) args.push('--enable-webgl=false');
      if (colorScheme === 'dark') args.push('--dark-mode');
      let driver;
      try {
        driver = await new Builder().usingServer(base).withCapabilities({
          browserName: 'MiniBrowser',
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args },
        }).build();
      } catch (e) {
        await server.stop();
        throw e;
      }
      const session = new Session(driver, viewport, files, display.tiles);
      const ctx = {
        newPage: () => session.newPage(),
        async close() {
          contexts.delete(ctx);
          for (const tile of session.tiles.splice(0)) tile.release();
          try { await driver.quit(); } catch { /* already gone */ }
          await server.stop();
        },
      };
      contexts.add(ctx);
      return ctx;
    },
    async close() {
      for (const c of [...contexts]) await c.close();
      await display.stop();
      rmSync(files, { recursive: true, force: true });
    },
  };
}

// One WebDriver session: commands go one at a time, each to its page's window.
class Session {
  constructor(driver, viewport, files, tiler) {
    this.driver = driver;
    this.tiler = tiler;
    this.tiles = [];
    this.viewport = viewport;
    this.files = files;
    this.queue = Promise.resolve();
    this.current = null;
    this.pages = 0;
    this.wheelX = 0;
    this.wheelY = 0;
  }
  run(handle, fn) {
    const next = this.queue.then(async () => {
      if (handle && this.current !== handle) {
        await this.driver.switchTo().window(handle);
        this.current = handle;
      }
      return fn(this.driver);
    });
    this.queue = next.catch(() => {});
    return next;
  }
  async newPage() {
    const handle = await this.run(null, async (d) => {
      if (this.pages++ > 0) await d.switchTo().newWindow('window');
      const h = await d.getWindowHandle();
      this.current = h;
      // The window's outer size less its inner size is the toolbar: size the page itself.
      const { width, height } = this.viewport;
      const tile = this.tiler.take();
      this.tiles.push(tile);
      await d.manage().window().setRect({ x: tile.x, y: tile.y, width, height });
      const [iw, ih] = await d.executeScript('return [innerWidth, innerHeight]');
      if (iw !== width || ih !== height) await d.manage().window().setRect({ width: 2 * width - iw, height: 2 * height - ih });
      return h;
    });
    return new WebKitPage(this, handle);
  }
}

const KEY = { Enter: Key.ENTER, Shift: Key.SHIFT, Control: Key.CONTROL, Alt: Key.ALT, Escape: Key.ESCAPE, End: Key.END,
  Home: Key.HOME, Tab: Key.TAB, ArrowUp: Key.ARROW_UP, ArrowDown: Key.ARROW_DOWN };
const key = (k) => KEY[k] || (k.length === 1 ? k.toLowerCase() : k);

class WebKitPage extends BasePage {
  constructor(session, handle) {
    super();
    this.s = session;
    this.handle = handle;
    this.errors = [];
    this.mx = 0;
    this.my = 0;
  }
  run(fn) { return this.s.run(this.handle, fn); }
  // WebDriver classic has no page-error events: a listener added once the page loaded collects them.
  async #watchErrors() {
    await this.evaluate(() => {
      window.__pageErrors = window.__pageErrors || [];
      window.addEventListener('error', (e) => window.__pageErrors.push(String(e.message)));
      window.addEventListener('unhandledrejection', (e) => window.__pageErrors.push(String(e.reason)));
    });
  }
  async pageErrors() { return [...this.errors, ...(await this.evaluate(() => window.__pageErrors || []))]; }
  async goto(url) { await this.run((d) => d.get(url)); await this.#watchErrors(); }
  async reload() { await this.run((d) => d.navigate().refresh()); await this.#watchErrors(); }
  evaluate(fn, arg) {
    return this.run((d) => d.executeScript(`return (${fn}).apply(null, arguments)`, arg === undefined ? null : arg));
  }
  actions(build) { return this.run((d) => build(d.actions({ async: true })).perform()); }
  type(text) { return this.actions((a) => a.sendKeys(text)); }
  press(combo) {
    const keys = combo.split('+').map(key);
    const last = keys.pop();
    return this.actions((a) => {
      for (const k of keys) a = a.keyDown(k);
      a = a.sendKeys(last);
      for (const k of keys.reverse()) a = a.keyUp(k);
      return a;
    });
  }
  keyDown(k) { return this.actions((a) => a.keyDown(key(k))); }
  keyUp(k) { return this.actions((a) => a.keyUp(key(k))); }
  #at(x, y) { this.mx = Math.round(x); this.my = Math.round(y); return { x: this.mx, y: this.my, origin: Origin.VIEWPORT }; }
  click(x, y) { return this.actions((a) => a.move(this.#at(x, y)).press().release()); }
  move(x, y) { return this.actions((a) => a.move(this.#at(x, y))); }
  down() { return this.actions((a) => a.press()); }
  up() { return this.actions((a) => a.release()); }
  // WebKitWebDriver (2.50) takes a wheel action's deltas as offsets from where the session's
  // previous wheel actions ended (-100 three times gives one event of -100, then none): send the
  // running total so each call is one wheel event of (dx, dy), as in the other engines.
  wheel(dx, dy) {
    this.s.wheelX += Math.round(dx);
    this.s.wheelY += Math.round(dy);
    return this.actions((a) => a.scroll(this.mx, this.my, this.s.wheelX, this.s.wheelY, Origin.VIEWPORT));
  }
  tap() { throw new Error(WHY.touch); }
  async screenshot({ path: file } = {}) {
    const png = Buffer.from(await this.run((d) => d.takeScreenshot()), 'base64');
    if (file) writeFileSync(file, png);
    return png;
  }
  async setFiles(selector, { name, buffer }) {
    const dir = mkdtempSync(path.join(this.s.files, 'f-'));
    const file = path.join(dir, name);
    writeFileSync(file, buffer);
    await this.run(async (d) => (await d.findElement({ css: selector })).sendKeys(file));
  }
  async popup(action) {
    const before = new Set(await this.run((d) => d.getAllWindowHandles()));
    await action();
    for (let i = 0; i < 200; i++) {
      const fresh = (await this.run((d) => d.getAllWindowHandles())).find((h) => !before.has(h));
      if (fresh) {
        return this.s.run(fresh, async (d) => {
          let url = await d.getCurrentUrl();
          for (let j = 0; j < 100 && (!url || url === 'about:blank'); j++) { await sleep(50); url = await d.getCurrentUrl(); }
          await d.close();
          this.s.current = null;
          return url;
        });
      }
      await sleep(50);
    }
    throw new Error('no window opened');
  }
  setOffline() { throw new Error(WHY.offline); }
  bringToFront() { return this.run(() => {}); }
  close() { return this.run(async (d) => { await d.close(); this.s.current = null; }); }
  get ime() { return null; }
}
