// Configuration: CORS '*', --no-dev keeps the key out of the output, weak access keys are refused,
// the /_stub/ API needs a key-signed token, --public-url / --bind and the outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi, signJwt, restToken, sessionToken, clientToken, nowS, STUB_BIN, ACCESS_KEY } from '../lib/stub.mjs';
import { connect, joinAs, claimsOf } from '../lib/ws.mjs';

test("--allow-origin '*' answers '*', never the caller's origin", async () => {
  const stub = await startStub({ args: ['--allow-origin', '*'] });
  try {
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:1']) {
      const r = await fetch(`${stub.base}/config`, { headers: { Origin: origin } });
      assert.equal(r.headers.get('access-control-allow-origin'), '*', `Origin ${origin}`);
      assert.equal(r.headers.get('access-control-allow-credentials'), null);
      const pre = await fetch(`${stub.base}/chat/reply`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
      assert.equal(pre.headers.get('access-control-allow-origin'), '*', `preflight from ${origin}`);
    }
  } finally { await stub.stop(); }
});

test('--no-dev: the access key is not printed', async () => {
  const stub = await startStub({ args: ['--no-dev'] });
  try {
    assert.ok(!stub.stdout().includes(ACCESS_KEY), `stdout:\n${stub.stdout()}`);
    assert.ok(!stub.stderr().includes(ACCESS_KEY), 'stderr');
    const r = await fetch(`${stub.base}/auth/dev-login`, { method: 'POST', body: '{"userId":"alice"}' });
    assert.equal(r.status, 404);
    await fetch(`${stub.base}/healthz`);
    assert.ok(!stub.output().includes(ACCESS_KEY), 'nor in the request log');
  } finally { await stub.stop(); }
});

function runStub(args, timeout = 15000) {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-flags-'));
  return new Promise((resolve) => {
    const p = spawn(STUB_BIN, ['--port', '0', '--db', path.join(dir, 'x.db'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; if (/"msg":"ready"/.test(out)) p.kill(); });
    p.stderr.on('data', (d) => { out += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('exit', (code, signal) => { clearTimeout(t); rmSync(dir, { recursive: true, force: true }); resolve({ code, signal, out }); });
  });
}

test('weak access keys (under 128 bits of estimated entropy) are refused with exit code 2', async () => {
  for (const key of ['a'.repeat(32), 'a'.repeat(64), '0'.repeat(40), 'x'.repeat(31) + 'y']) {
    const r = await runStub(['--access-key', key]);
    assert.equal(r.code, 2, `--access-key ${key}: exit ${r.code} ${r.signal ?? ''}\n${r.out}`);
    assert.match(r.out, /access.key|entropy|weak/i, 'with a message');
  }
  // Repetitive keys: well under 128 bits whichever way the entropy is estimated per character.
  // Runs that a per-character count cannot see: the steps between neighbours give them away.
  for (const key of ['ab'.repeat(16), 'abc'.repeat(11), '01'.repeat(20), '0123456789abcdef0123456789abcdef', 'abcdefghijklmnopqrstuvwxyzABCDEF', 'test-access-key-0123456789abcdef0123456789']) {
    const r = await runStub(['--access-key', key]);
    assert.equal(r.code, 2, `--access-key ${key}: exit ${r.code}`);
  }
  // Strong keys start (the test suite's own key, a random hex key).
  for (const key of [ACCESS_KEY, '9f2c4e81a07b3d65c1e8f4a29b7d0c36e5a1f8b24d9c07e3']) {
    const r = await runStub(['--access-key', key]);
    assert.equal(r.code === 2, false, `--access-key ${key} refused:\n${r.out}`);
    assert.match(r.out, /"msg":"ready"/);
  }
});

test('/_stub/ needs a key-signed token with exp whose audience is the request URL', async () => {
  const stub = await startStub();
  try {
    const alice = await login(stub.base, 'alice');
    const ops = [['GET', '/_stub/state'], ['POST', '/_stub/drop?userId=bob'], ['POST', '/_stub/close?userId=bob&reason=x'],
      ['POST', '/_stub/outbox?pause=true'], ['POST', '/_stub/notifications']];
    for (const [method, p] of ops) {
      const body = p === '/_stub/notifications' ? JSON.stringify({ title: 'x', target: { kind: 'global' } }) : undefined;
      const bare = p.split('?')[0];
      const tokens = [
        ['no token', null],
        ["a user's session token", alice],
        ['a forged session-style token', sessionToken('alice')],
        ['a client access token', clientToken(stub, { sub: 'alice' })],
        ['wrong key', signJwt({ aud: stub.base + bare, exp: nowS() + 60 }, 'not-the-access-key-0123456789abcdef')],
        ['no exp', signJwt({ aud: stub.base + bare })],
        ['expired', signJwt({ aud: stub.base + bare, exp: nowS() - 30 })],
        ['another path', restToken(stub, '/_stub/other')],
        ['a REST path', restToken(stub, '/api/hubs/chat/:send')],
        ['path prefix', restToken(stub, '/_stub')],
      ];
      for (const [what, token] of tokens) {
        const r = await fetch(stub.base + p, { method, headers: token ? { Authorization: `Bearer ${token}` } : {}, body });
        assert.equal(r.status, 401, `${method} ${p} with ${what}: ${r.status}`);
      }
    }
    // With a proper token it works (outbox paused above only if a refused call got through).
    const st = await stubApi(stub, 'GET', '/_stub/state');
    assert.equal(st.status, 200);
    assert.equal(st.json.outbox.paused, false, 'no refused call changed anything');
    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?failNext=abc')).status, 400);
  } finally { await stub.stop(); }
});

// Connects with an access URL whose host is the configured public one, through the real port.
async function joinVia(stub, token, group) {
  const u = (await api(stub.base, token, 'POST', '/realtime/clientAccessUrl', { groupName: group })).json.url;
  const c = await connect(u.replace(/^wss?:\/\/[^/]+/, `ws://127.0.0.1:${stub.port}`));
  await c.next((f) => f.event === 'connected');
  c.send({ type: 'joinGroup', group, ackId: 1 });
  assert.equal((await c.next((f) => f.ackId === 1)).success, true);
  return c;
}

test('--public-url sets the access URL and token audience; the outbox still publishes locally', async () => {
  for (const [pub, prefix] of [['http://chat.example:1234', 'ws://chat.example:1234/client/hubs/chat?access_token='],
    ['https://chat.example', 'wss://chat.example/client/hubs/chat?access_token=']]) {
    const stub = await startStub({ args: ['--public-url', pub] });
    try {
      const [alice, bob] = await Promise.all([login(stub.base, 'alice'), login(stub.base, 'bob')]);
      const r = await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' });
      assert.equal(r.status, 200);
      assert.ok(r.json.url.startsWith(prefix), r.json.url);
      assert.equal(claimsOf(r.json.url).aud, `${pub}/client/hubs/chat`);
      // Bob connects through the real port with such a URL: the path is what the emulator checks.
      const b = await joinVia(stub, bob, 'conversation:demo');
      const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'via outbox', clientMessageId: `pub-${prefix}` });
      assert.equal((await b.next((f) => f.type === 'message', 15000)).data.message.messageId, sent.json.message.messageId);
      b.close();
      assert.equal((await stubApi(stub, 'GET', '/_stub/state')).json.outbox.dead, 0);
    } finally { await stub.stop(); }
  }
});

test('--public-url must be a plain http(s) origin: a path, query, fragment or other scheme exits with 2', async () => {
  for (const u of ['http://chat.example/prefix', 'http://chat.example?x=/client/hubs/chat', 'http://chat.example#x', 'ftp://chat.example',
    'javascript:alert(1)//', 'chat.example', 'http://a b', 'http://chat.example\r\nX: y', 'http://chat.example:99999', 'http://chat.example:0']) {
    const r = await runStub(['--access-key', ACCESS_KEY, '--public-url', u]);
    assert.equal(r.code, 2, `--public-url ${u}: exit ${r.code}`);
  }
});

test('--bind 127.0.0.2: access URLs point there and a reply is delivered live', async () => {
  const stub = await startStub({ args: ['--bind', '127.0.0.2'] });
  try {
    assert.equal(stub.host, '127.0.0.2');
    const [alice, bob] = await Promise.all([login(stub.base, 'alice'), login(stub.base, 'bob')]);
    const r = await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' });
    assert.ok(r.json.url.startsWith(`ws://127.0.0.2:${stub.port}/client/hubs/chat?access_token=`), r.json.url);
    const c = await joinAs(stub.base, bob, 'conversation:demo');
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'on 127.0.0.2', clientMessageId: 'bind-1' });
    assert.equal(sent.status, 201);
    const m = await c.next((f) => f.type === 'message', 20000);
    assert.equal(m.data.message.messageId, sent.json.message.messageId);
    c.close();
  } finally { await stub.stop(); }
});

test('--bind 0.0.0.0: the default public URL is http://127.0.0.1:<port>', async () => {
  const stub = await startStub({ args: ['--bind', '0.0.0.0'] });
  try {
    const alice = await login(stub.base, 'alice');
    const r = await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' });
    assert.ok(r.json.url.startsWith(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=`), r.json.url);
  } finally { await stub.stop(); }
});

test('--db postgresql://: a URL libpq cannot read exits 2, an unreachable server exits 1, neither shows the password', async () => {
  const bad = await runStub(['--db', 'postgresql://chat:hunter2xyz@[::1/chat']);
  assert.equal(bad.code, 2, `exit ${bad.code} ${bad.signal ?? ''}\n${bad.out}`);
  assert.match(bad.out, /--db: not a PostgreSQL URL libpq can read/);
  assert.ok(!bad.out.includes('hunter2xyz'), bad.out);
  const down = await runStub(['--db', 'postgresql://chat:hunter2xyz@127.0.0.1:1/chat']);
  assert.equal(down.code, 1, `exit ${down.code} ${down.signal ?? ''}\n${down.out}`);
  assert.match(down.out, /PostgreSQL at postgresql:\/\/chat@127\.0\.0\.1:1\/chat: .*refused/);
  assert.ok(!down.out.includes('hunter2xyz'), down.out);
});
