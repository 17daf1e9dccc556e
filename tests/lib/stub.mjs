// Starts the stub server on a free port with a fresh database and returns how to reach it.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const STUB_BIN = process.env.STUB_BIN || path.resolve(import.meta.dirname, '../../build/native/server-stub/chat-stub');
export const SITE_DIR = process.env.SITE_DIR || path.resolve(import.meta.dirname, '../../build/wasm/site');
export const ACCESS_KEY = 'b3e1c97a0f5d2846e9a1c3f7d05b8e24a6c91f03d7e5b2a8';

// Options: `args` are appended to the defaults; `staticDir` replaces SITE_DIR; `shell` runs the
// binary through `sh -c '<shell>; exec "$0" "$@"'` (e.g. 'ulimit -n 64'), so proc.pid is still the
// stub's own pid; `host` is where the tests reach it (default: the --bind address in `args`, with
// 0.0.0.0 meaning 127.0.0.1).
export async function startStub({ args = [], db, keepDir = false, staticDir = SITE_DIR, shell, host } = {}) {
  const dir = db ? path.dirname(db) : mkdtempSync(path.join(tmpdir(), 'chat-stub-'));
  const dbPath = db || path.join(dir, 'chat.db');
  const argv = ['--port', '0', '--db', dbPath, '--access-key', ACCESS_KEY, '--static', staticDir, '--enable-stub-api', ...args];
  const proc = shell
    ? spawn('/bin/sh', ['-c', `${shell}; exec "$0" "$@"`, STUB_BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(STUB_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!host) {
    const bind = args.indexOf('--bind');
    host = bind >= 0 && args[bind + 1] !== '0.0.0.0' ? args[bind + 1] : '127.0.0.1';
  }
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    // Longer than the stub's own wait before "ready" (up to 30 s for start-up outbox rows to be
    // published): a loaded machine with a fresh PostgreSQL database needed more than 15 s once.
    const timer = setTimeout(() => reject(new Error('stub did not start in 45 s:\n' + out + err)), 45000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/"msg":"ready","port":(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`stub exited with ${code}:\n${out}${err}`)); });
  });
  const base = `http://${host}:${port}`;
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    port, host, base, dbPath, dir, proc,
    output: () => out + err,
    stdout: () => out,
    stderr: () => err,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    connectionString: `Endpoint=${base};AccessKey=${ACCESS_KEY};Version=1.0;`,
    // Stops the server; one that does not exit within 10 s (a wedged io thread) is killed.
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); }, 10000);
      await exited;
      clearTimeout(timer);
      if (!keepDir && !db) rmSync(dir, { recursive: true, force: true });
      // A stub that crashed on the way out (it once did on SIGTERM with sockets open) fails the
      // test that stopped it.
      if (['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGILL', 'SIGFPE'].includes(proc.signalCode))
        throw new Error(`the stub crashed on stopping (${proc.signalCode}):\n${(out + err).slice(-2000)}`);
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

// ---- tokens -------------------------------------------------------------------------------------

const b64url = (x) => Buffer.from(x).toString('base64url');

// An HS256 JWT as the stub and the Azure SDKs make them. `header` may be an object or raw JSON
// text (hostile headers); `key` a string (UTF-8) or a Buffer (raw bytes).
export function signJwt(claims, key = ACCESS_KEY, header = { alg: 'HS256', typ: 'JWT' }) {
  const h = b64url(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64url(typeof claims === 'string' ? claims : JSON.stringify(claims));
  return `${h}.${p}.${createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);

// The app's session-token secret when no --app-secret is configured: the raw bytes of
// HMAC-SHA256(key = access key, data = "app-session-tokens").
export const APP_SECRET = createHmac('sha256', ACCESS_KEY).update('app-session-tokens').digest();

// A dev-login style session token ({sub, aud: "chat-app", exp}); pass exp: undefined to omit it.
export function sessionToken(sub, extra = { exp: nowS() + 600 }) {
  return signJwt({ sub, aud: 'chat-app', ...extra }, APP_SECRET);
}

// A data-plane token for one request: aud = the request URL without its query.
export function restToken(stub, pathWithQuery, { ttl = 300, key = ACCESS_KEY } = {}) {
  const now = nowS();
  return signJwt({ aud: stub.base + pathWithQuery.split('?')[0], iat: now, exp: now + ttl }, key);
}

// A client (WebSocket) access token signed with the access key.
export function clientToken(stub, { sub, roles, hub = 'chat', ttl = 300, ...extra } = {}) {
  const now = nowS();
  const claims = { aud: `${stub.base}/client/hubs/${hub}`, iat: now, exp: now + ttl, ...extra };
  if (sub !== undefined) claims.sub = sub;
  if (roles) claims.role = roles;
  return signJwt(claims);
}

async function answer(r) {
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

// The /_stub/ test API, authorised like the REST data plane (a token signed with the access key
// whose aud is the request URL).
export async function stubApi(stub, method, pathWithQuery, body) {
  const r = await fetch(stub.base + pathWithQuery, {
    method,
    headers: { Authorization: `Bearer ${restToken(stub, pathWithQuery)}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return answer(r);
}

// Waits until the outbox has published everything committed so far (e.g. the conversation.created
// of conversations just made), so a connection opened next starts from a known state.
export async function outboxDrained(stub, timeout = 30000) {
  let state;
  for (const end = Date.now() + timeout; Date.now() < end;) {
    state = (await stubApi(stub, 'GET', '/_stub/state')).json;
    if (state?.outbox?.pending === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the outbox did not drain in ${timeout} ms: ${JSON.stringify(state?.outbox)}`);
}

// The Web PubSub REST data plane (POST /api/hubs/...), signed with the access key.
export async function rest(stub, method, pathWithQuery, body, { contentType = 'application/json', token } = {}) {
  const r = await fetch(stub.base + pathWithQuery, {
    method,
    headers: { Authorization: `Bearer ${token ?? restToken(stub, pathWithQuery)}`, 'Content-Type': contentType },
    body: body === undefined ? undefined : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)),
  });
  return answer(r);
}

// One HTTP request with the path sent byte for byte (no URL normalisation, unlike fetch) and any
// headers, Host included. Resolves { status, headers, body (Buffer), text, json }.
export function rawRequest(stub, { method = 'GET', path: target = '/', headers = {}, body, timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: stub.host, port: stub.port, method, path: target, headers, agent: false, timeout }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        let json = null;
        try { json = JSON.parse(buf.toString()); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: buf, text: buf.toString(), json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${target} within ${timeout} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Polls `fn` until it returns a truthy value (returned) or the timeout passes (returns the last value).
export async function waitFor(fn, { timeout = 20000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  let v;
  for (;;) {
    try { v = await fn(); } catch (e) { v = undefined; if (Date.now() > end) throw e; }
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, interval));
  }
}

// GET /healthz answered 200 (false when the server is gone).
export async function healthy(stub) {
  try { return (await fetch(`${stub.base}/healthz`)).status === 200; } catch { return false; }
}
