// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
  });
}

// Opens the chat as `user` and waits until the panel is live (socket connected, group joined).
export async function openChat(browser, base, user, viewport = { width: 900, height: 640 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/?user=${user}`);
  await page.waitForFunction(() => document.getElementById('chat-status')?.textContent === 'connected', null, { timeout: 30000 });
  return { page, context, errors };
}

export function logText(page) {
  return page.evaluate(() => [...document.querySelectorAll('#chat-log [data-message-id]')].map((e) => e.textContent));
}

// Clicks a named canvas item (Module.chat.targets, published every drawn frame) where a person
// would: the centre of its rect. `name` may end with '*' to match a prefix.
export async function clickTarget(page, name, { timeout = 15000 } = {}) {
  const handle = await page.waitForFunction((n) => {
    const t = window.Module?.chat?.targets || {};
    const key = n.endsWith('*') ? Object.keys(t).find((k) => k.startsWith(n.slice(0, -1))) : (n in t ? n : undefined);
    return key ? t[key] : null;
  }, name, { timeout });
  const [x, y] = await handle.jsonValue();
  await page.mouse.click(x, y);
}

// Wakes the page so it draws a frame (and republishes its targets).
export async function nudge(page) {
  await page.mouse.move(5, 5);
  await page.mouse.move(6, 6);
}
