// Chromium (Debian's /usr/bin/chromium) through playwright-core, headless; never a downloaded browser.
import { chromium } from 'playwright-core';
import { BasePage } from './browser.mjs';

export const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'];

// `webgl2: false` starts a browser with WebGL2 switched off (--disable-webgl2).
export async function launch({ webgl2 = true } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: webgl2 ? ARGS : [...ARGS, '--disable-webgl2'],
  });
  return {
    engine: 'chromium',
    version: `Chromium ${browser.version()}`,
    can: {
      dpr: true, fractionalDpr: true, touch: true, offline: true, ime: true, deadKeys: true,
      colorScheme: true, liveColorScheme: true, popups: true, clipboard: true,
    },
    async newContext({ viewport = { width: 900, height: 640 }, dpr = 1, touch = false, colorScheme, clipboard = false } = {}) {
      const ctx = await browser.newContext({ viewport, deviceScaleFactor: dpr, hasTouch: touch, isMobile: touch, colorScheme });
      // Headless Chromium asks before a page may use the system clipboard: a person would allow it.
      if (clipboard) await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
      return {
        async newPage() { return new ChromiumPage(ctx, await ctx.newPage()); },
        setColorScheme: async (scheme) => { for (const p of ctx.pages()) await p.emulateMedia({ colorScheme: scheme }); },
        close: () => ctx.close(),
      };
    },
    close: () => browser.close(),
  };
}

const KEYS = { Control: 'Control', Shift: 'Shift', Enter: 'Enter', Alt: 'Alt' };

class ChromiumPage extends BasePage {
  constructor(ctx, page) {
    super();
    this.ctx = ctx;
    this.page = page;
    this.errors = [];
    page.on('pageerror', (e) => this.errors.push(String(e)));
  }
  goto(url) { return this.page.goto(url); }
  reload() { return this.page.reload(); }
  evaluate(fn, arg) { return this.page.evaluate(fn, arg); }
  // Chromium polls inside the page (requestAnimationFrame), cheaper than round trips.
  async waitFor(fn, arg, { timeout = 15000 } = {}) {
    const h = await this.page.waitForFunction(fn, arg, { timeout });
    return h.jsonValue();
  }
  type(text) { return this.page.keyboard.type(text); }
  press(key) { return this.page.keyboard.press(key); }
  keyDown(key) { return this.page.keyboard.down(KEYS[key] || key); }
  keyUp(key) { return this.page.keyboard.up(KEYS[key] || key); }
  click(x, y) { return this.page.mouse.click(x, y); }
  move(x, y) { return this.page.mouse.move(x, y); }
  down() { return this.page.mouse.down(); }
  up() { return this.page.mouse.up(); }
  wheel(dx, dy) { return this.page.mouse.wheel(dx, dy); }
  tap(x, y) { return this.page.touchscreen.tap(x, y); }
  screenshot({ path } = {}) { return this.page.screenshot({ path }); }
  setFiles(selector, file) { return this.page.setInputFiles(selector, file); }
  async popup(action) {
    const opened = this.ctx.waitForEvent('page');
    await action();
    const p = await opened;
    await p.waitForLoadState('domcontentloaded').catch(() => {});
    // A window opened blank and sent its document later (the static demo's attachments).
    for (let i = 0; i < 200 && p.url() === 'about:blank'; i++) await new Promise((r) => setTimeout(r, 50));
    const url = p.url();
    await p.close();
    return url;
  }
  setOffline(offline) { return this.ctx.setOffline(offline); }
  bringToFront() { return this.page.bringToFront(); }
  close() { return this.page.close(); }
  // IME and dead keys as the DevTools protocol produces them (the events a real IME sends).
  get ime() {
    const cdp = this.ctx.newCDPSession(this.page);
    return {
      setComposition: async (text) => (await cdp).send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length }),
      insertText: async (text) => (await cdp).send('Input.insertText', { text }),
      deadKey: async () => {
        const s = await cdp;
        await s.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
        await s.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
      },
    };
  }
}
