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
