// Firefox ESR (Debian's /usr/bin/firefox-esr) through puppeteer-core over WebDriver BiDi, in a
// real window on a private Xvfb display (headless Firefox has no WebGL2 on this machine).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { BasePage, sleep } from './browser.mjs';
import { startDisplay } from './display.mjs';

const WHY = {
  ime: 'WebDriver BiDi has no IME: input.performActions sends whole characters, never composition events',
  deadKeys: 'WebDriver BiDi key actions carry characters, not layout keys: a dead key cannot be pressed',
  colorScheme: 'puppeteer emulates prefers-color-scheme through CDP only; Firefox speaks WebDriver BiDi',
};

// `webgl2: false` starts a Firefox with WebGL2 switched off (pref webgl.enable-webgl2 = false).
export async function launch({ webgl2 = true } = {}) {
  const display = await startDisplay();
  const files = mkdtempSync(path.join(tmpdir(), 'firefox-files-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
      headless: false,
      defaultViewport: null,
      env: { ...process.env, DISPLAY: display.display, MOZ_CRASHREPORTER_DISABLE: '1' },
      extraPrefsFirefox: {
        'webgl.enable-webgl2': webgl2,
        // No "allow this site to read the clipboard?" prompt for the paste step.
        'dom.events.testing.asyncClipboard': true,
        // Windows behind others still draw (the app draws on requestAnimationFrame).
        'widget.windows.window_occlusion_tracking.enabled': false,
      },
      protocolTimeout: 60000,
      timeout: 60000,
    });
  } catch (e) {
    await display.stop();
    throw e;
  }
  const version = await browser.version();
  return {
    engine: 'firefox',
    version: `Firefox ${version.split('/')[1] || version}`,
    can: {
      dpr: true, fractionalDpr: true, touch: true, offline: true, popups: true, clipboard: true,
      ime: WHY.ime, deadKeys: WHY.deadKeys, colorScheme: WHY.colorScheme, liveColorScheme: WHY.colorScheme,
    },
    async newContext({ viewport = { width: 900, height: 640 }, dpr = 1, touch = false, colorScheme } = {}) {
      if (colorScheme) throw new Error(WHY.colorScheme);
      const ctx = await browser.createBrowserContext();
      const tiles = [];
      return {
        async newPage() {
          // A window of its own (not a background tab, which would stop drawing).
          const page = await ctx.newPage({ type: 'window' });
          const tile = display.tiles.take();
          tiles.push(tile);
          await browser.setWindowBounds(await page.windowId(), { left: tile.x, top: tile.y, width: viewport.width + 100, height: viewport.height + 200 });
          await page.setViewport({ width: viewport.width, height: viewport.height, deviceScaleFactor: dpr, hasTouch: touch });
          return new FirefoxPage(browser, page, files);
        },
        async close() {
          await ctx.close();
          for (const tile of tiles.splice(0)) tile.release();
        },
      };
    },
    async close() {
      try { await browser.close(); } finally {
        await display.stop();
        rmSync(files, { recursive: true, force: true });
      }
    },
  };
}

const KEY = { Control: 'Control', Shift: 'Shift', Alt: 'Alt', Enter: 'Enter', V: 'v', A: 'a', C: 'c' };

class FirefoxPage extends BasePage {
  constructor(browser, page, files) {
    super();
    this.browser = browser;
    this.page = page;
    this.files = files;
    this.errors = [];
    // Firefox reports a WebSocket that could not connect (a reconnect attempt while the server
    // is down, as the restart tests make it) through the same BiDi log entry as an uncaught
    // error; Chromium and WebKit do not count it. The app handles it (the socket's error and
    // close events, then backoff): it is not a page error, so it is not collected. Nor is "The
    // connection to ws://… was interrupted while the page was loading": Firefox logs it for a
    // socket still connecting (a reconnect) when the page goes away (a reload) and aborts it.
    page.on('pageerror', (e) => {
      const text = String(e);
      if (/^Error: Firefox can\u2019t establish a connection to the server at wss?:\/\//.test(text)) return;
      if (/^Error: The connection to wss?:\/\/\S+ was interrupted while the page was loading\.$/.test(text)) return;
      this.errors.push(text);
    });
  }
  goto(url) { return this.page.goto(url); }
  reload() { return this.page.reload(); }
  evaluate(fn, arg) { return this.page.evaluate(fn, arg); }
  async waitFor(fn, arg, { timeout = 15000 } = {}) {
    const h = await this.page.waitForFunction(fn, { timeout, polling: 50 }, arg);
    return h.jsonValue();
  }
  type(text) { return this.page.keyboard.type(text); }
  async press(combo) {
    const keys = combo.split('+').map((k) => KEY[k] || k);
    const last = keys.pop();
    for (const k of keys) await this.page.keyboard.down(k);
    await this.page.keyboard.press(last);
    for (const k of keys.reverse()) await this.page.keyboard.up(k);
  }
  keyDown(key) { return this.page.keyboard.down(KEY[key] || key); }
  keyUp(key) { return this.page.keyboard.up(KEY[key] || key); }
  click(x, y) { return this.page.mouse.click(x, y); }
  move(x, y) { return this.page.mouse.move(x, y); }
  down() { return this.page.mouse.down(); }
  up() { return this.page.mouse.up(); }
  wheel(dx, dy) { return this.page.mouse.wheel({ deltaX: dx, deltaY: dy }); }
  tap(x, y) { return this.page.touchscreen.tap(x, y); }
  async screenshot({ path: file } = {}) { return Buffer.from(await this.page.screenshot({ path: file })); }
  async setFiles(selector, { name, buffer }) {
    const dir = mkdtempSync(path.join(this.files, 'f-'));
    const file = path.join(dir, name);
    writeFileSync(file, buffer);
    const input = await this.page.$(selector);
    await input.uploadFile(file);
  }
  async popup(action) {
    const before = new Set(await this.browser.pages());
    // Records the page's window.open calls: a failure then says whether the app asked at all.
    await this.page.evaluate(() => {
      if (window.__opens) return;
      window.__opens = [];
      const open = window.open;
      window.open = function (...args) {
        window.__opens.push({ url: String(args[0]), active: navigator.userActivation?.isActive });
        return open.apply(this, args);
      };
    });
    await action();
    // A new window first shows about:blank; on a loaded machine its navigation can take seconds.
    let fresh = null;
    for (let i = 0; i < 400; i++) {
      fresh = (await this.browser.pages()).find((p) => !before.has(p));
      if (fresh && fresh.url() !== 'about:blank') {
        const url = fresh.url();
        await fresh.close();
        return url;
      }
      await sleep(50);
    }
    const seen = await this.page.evaluate(() => ({ opens: window.__opens, visibility: document.visibilityState, focus: document.hasFocus() }));
    throw new Error(`${fresh ? 'a window opened but stayed at about:blank' : 'no window opened'}: ${JSON.stringify(seen)}`);
  }
  setOffline(offline) { return this.page.setOfflineMode(offline); }
  bringToFront() { return this.page.bringToFront(); }
  close() { return this.page.close(); }
  get ime() { return null; }
}
