// Starts the stub server on a free port with a fresh database and returns how to reach it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const STUB_BIN = process.env.STUB_BIN || path.resolve(import.meta.dirname, '../../build/native/server-stub/chat-stub');
export const SITE_DIR = process.env.SITE_DIR || path.resolve(import.meta.dirname, '../../build/wasm/site');
export const ACCESS_KEY = 'test-access-key-0123456789abcdef0123456789';

export async function startStub({ args = [], db, keepDir = false } = {}) {
  const dir = db ? path.dirname(db) : mkdtempSync(path.join(tmpdir(), 'chat-stub-'));
  const dbPath = db || path.join(dir, 'chat.db');
  const proc = spawn(STUB_BIN, ['--port', '0', '--db', dbPath, '--access-key', ACCESS_KEY, '--static', SITE_DIR,
    '--enable-stub-api', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stub did not start:\n' + out + err)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/"msg":"ready","port":(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`stub exited with ${code}:\n${out}${err}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    port, base, dbPath, proc,
    output: () => out + err,
    connectionString: `Endpoint=${base};AccessKey=${ACCESS_KEY};Version=1.0;`,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      if (!keepDir && !db) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function login(base, userId) {
  const r = await fetch(`${base}/auth/dev-login`, { method: 'POST', body: JSON.stringify({ userId }) });
  if (r.status !== 200) throw new Error(`login ${userId}: ${r.status}`);
  return (await r.json()).token;
}

export async function api(base, token, method, p, body) {
  const r = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}
