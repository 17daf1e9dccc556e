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
      const ctx = await bounded('newContext', browser.newContext({ viewport, deviceScaleFactor: dpr, hasTouch: touch, isMobile: touch, colorScheme }));
      // Headless Chromium asks before a page may use the system clipboard: a person would allow it.
      if (clipboard) await bounded('grantPermissions', ctx.grantPermissions(['clipboard-read', 'clipboard-write']));
      return {
        async newPage() { return new ChromiumPage(ctx, await bounded('newPage', ctx.newPage())); },
        setColorScheme: async (scheme) => { for (const p of ctx.pages()) await bounded('emulateMedia', p.emulateMedia({ colorScheme: scheme })); },
        close: () => bounded('closing a context', ctx.close()),
      };
    },
    close: () => bounded('closing the browser', browser.close()),
  };
}

const KEYS = { Control: 'Control', Shift: 'Shift', Enter: 'Enter', Alt: 'Alt' };

// Playwright's evaluate, input, newPage and close wait without limit for a page or browser that
// stopped answering (puppeteer and selenium give up after their protocol timeouts): a step that
// never returns would hang its suite until CTest kills it, saying nothing. Each such call here
// fails after `ms` instead, naming the call, so the test reports the step it was in.
export const CALL_LIMIT_MS = Number(process.env.BROWSER_CALL_LIMIT_MS) || 120000;
function bounded(what, promise, ms = CALL_LIMIT_MS) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`chromium: ${what} did not return in ${ms / 1000} s (the page or the browser stopped answering)`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

class ChromiumPage extends BasePage {
  constructor(ctx, page) {
    super();
    this.ctx = ctx;
    this.page = page;
    this.errors = [];
    page.on('pageerror', (e) => this.errors.push(String(e)));
  }
  goto(url) { return bounded(`goto ${url}`, this.page.goto(url)); }
  reload() { return bounded('reload', this.page.reload()); }
  evaluate(fn, arg) { return bounded(`evaluate ${String(fn).replace(/\s+/g, ' ').slice(0, 100)}`, this.page.evaluate(fn, arg)); }
  // Chromium polls inside the page (requestAnimationFrame), cheaper than round trips.
  waitFor(fn, arg, { timeout = 15000 } = {}) {
    return bounded(`waitFor ${String(fn).replace(/\s+/g, ' ').slice(0, 100)}`, (async () => {
      const h = await this.page.waitForFunction(fn, arg, { timeout });
      return h.jsonValue();
    })(), timeout + CALL_LIMIT_MS);
  }
  type(text) { return bounded('keyboard.type', this.page.keyboard.type(text)); }
  press(key) { return bounded(`keyboard.press ${key}`, this.page.keyboard.press(key)); }
  keyDown(key) { return bounded('keyboard.down', this.page.keyboard.down(KEYS[key] || key)); }
  keyUp(key) { return bounded('keyboard.up', this.page.keyboard.up(KEYS[key] || key)); }
  click(x, y) { return bounded(`mouse.click ${x},${y}`, this.page.mouse.click(x, y)); }
  move(x, y) { return bounded('mouse.move', this.page.mouse.move(x, y)); }
  down() { return bounded('mouse.down', this.page.mouse.down()); }
  up() { return bounded('mouse.up', this.page.mouse.up()); }
  wheel(dx, dy) { return bounded('mouse.wheel', this.page.mouse.wheel(dx, dy)); }
  tap(x, y) { return bounded('touchscreen.tap', this.page.touchscreen.tap(x, y)); }
  screenshot({ path } = {}) { return bounded('screenshot', this.page.screenshot({ path })); }
  setFiles(selector, file) { return bounded('setInputFiles', this.page.setInputFiles(selector, file)); }
  async popup(action) {
    const opened = this.ctx.waitForEvent('page');
    opened.catch(() => {});  // an action that fails is the error reported, not this wait
    await action();
    const p = await opened;
    await p.waitForLoadState('domcontentloaded').catch(() => {});
    // A window opened blank and sent its document later (the static demo's attachments).
    for (let i = 0; i < 200 && p.url() === 'about:blank'; i++) await new Promise((r) => setTimeout(r, 50));
    const url = p.url();
    await bounded('closing the popup', p.close());
    return url;
  }
  setOffline(offline) { return bounded('setOffline', this.ctx.setOffline(offline)); }
  bringToFront() { return bounded('bringToFront', this.page.bringToFront()); }
  close() { return bounded('closing a page', this.page.close()); }
  // IME and dead keys as the DevTools protocol produces them (the events a real IME sends).
  get ime() {
    // One DevTools session per page, opened on first use.
    this.cdp ??= bounded('newCDPSession', this.ctx.newCDPSession(this.page));
    const send = async (method, params) => bounded(method, (await this.cdp).send(method, params));
    return {
      setComposition: (text) => send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length }),
      insertText: (text) => send('Input.insertText', { text }),
      deadKey: async () => {
        await send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
        await send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Dead', code: 'Quote', windowsVirtualKeyCode: 222 });
      },
    };
  }
}
