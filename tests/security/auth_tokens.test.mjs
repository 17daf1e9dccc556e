// Hostile input against token handling: audiences taken from the Host header, JWT header
// confusion, tokens without exp, non-canonical signatures, recovery after expiry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  startStub, login, api, stubApi, rest, rawRequest, signJwt, sessionToken, restToken, clientToken, healthy, waitFor,
  nowS, ACCESS_KEY, APP_SECRET, outboxDrained,
} from '../lib/stub.mjs';
import { connect, joinAs, tryConnect, connectedOrClosed, claimsOf, tokenOf } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

const wsBase = (s) => `ws://${s.host}:${s.port}`;

// POST /realtime/clientAccessUrl with a Host header of the attacker's choice: the access token
// used to carry aud = "http://<Host>/client/hubs/chat", so a Host ending in "?z=" made the server
// sign a token for any REST URL. Returns the answer, the token and its audience's path+query.
async function forgedAccessUrl(s, session, restTarget, body = { groupName: 'conversation:demo' }) {
  const host = `x${restTarget}${restTarget.includes('?') ? '&' : '?'}z=`;
  const r = await rawRequest(s, { method: 'POST', path: '/realtime/clientAccessUrl', headers: { Host: host, Authorization: `Bearer ${session}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, r.text);
  const token = tokenOf(r.json.url);
  const aud = claimsOf(token).aud;
  const audPath = aud.replace(/^[a-z]+:\/\/[^/]*/i, '') || '/';
  return { url: r.json.url, token, aud, audPath };
}

// Where a forged token could be replayed against `restTarget`: the path+query it was signed for
// (when the server still put the Host header into aud) and the REST URL itself, with and without
// the "z=/client/hubs/chat" tail the server used to append.
function replayTargets(forged, restTarget) {
  const targets = [restTarget, `${restTarget}${restTarget.includes('?') ? '&' : '?'}z=/client/hubs/chat`];
  if (forged.audPath.startsWith('/api/') || forged.audPath.startsWith('/_stub/')) targets.unshift(forged.audPath);
  return targets;
}

test('access URLs use the configured public URL, never the Host header', async () => {
  for (const host of ['evil.example', 'evil.example:9999', `x/api/hubs/chat/:generateToken?userId=bob&role=webpubsub.joinLeaveGroup&role=webpubsub.sendToGroup&z=`]) {
    const r = await rawRequest(stub, { method: 'POST', path: '/realtime/clientAccessUrl', headers: { Host: host, Authorization: `Bearer ${alice}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ groupName: 'conversation:demo' }) });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.url.startsWith(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=`), `Host ${host} gave ${r.json.url}`);
    assert.equal(claimsOf(r.json.url).aud, `http://127.0.0.1:${stub.port}/client/hubs/chat`);
  }
});

test('a token minted through a forged Host cannot call the REST data plane (:generateToken for bob)', async () => {
  const attack = '/api/hubs/chat/:generateToken?userId=bob&role=webpubsub.joinLeaveGroup&role=webpubsub.sendToGroup';
  const forged = await forgedAccessUrl(stub, alice, attack);
  // Replay exactly the URL the server signed (if it still names a REST path), and the attack URL.
  for (const target of replayTargets(forged, attack)) {
    const r = await rawRequest(stub, { method: 'POST', path: target, headers: { Authorization: `Bearer ${forged.token}` } });
    assert.equal(r.status, 401, `POST ${target} with alice's client token answered ${r.status}: ${r.text}`);
  }
});

test('REST :generateToken signs the configured audience whatever the Host header says', async () => {
  const p = '/api/hubs/chat/:generateToken?userId=rest-user&minutesToExpire=5';
  const r = await rawRequest(stub, { method: 'POST', path: p, headers: { Host: 'evil.example/x?y=', Authorization: `Bearer ${restToken(stub, p)}` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(claimsOf(r.json.token).aud, `http://127.0.0.1:${stub.port}/client/hubs/chat`);
});

const REST_OPS = [
  ['POST', '/api/hubs/chat/:send'],
  ['POST', '/api/hubs/chat/groups/conversation%3Ademo/:send'],
  ['POST', '/api/hubs/chat/users/bob/:send'],
  ['POST', '/api/hubs/chat/:generateToken?userId=bob&role=webpubsub.joinLeaveGroup'],
  ['POST', '/api/hubs/chat/:closeConnections'],
  ['POST', '/api/hubs/chat/users/bob/:closeConnections'],
  ['POST', '/api/hubs/chat/groups/conversation%3Ademo/:closeConnections'],
  ['GET', '/api/hubs/chat/groups/conversation%3Ademo/connections'],
  ['HEAD', '/api/hubs/chat/users/bob'],
  ['PUT', '/api/hubs/chat/users/alice/groups/notifications%3Auser%3Abob'],
  ['DELETE', '/api/hubs/chat/users/bob/groups'],
  ['PUT', '/api/hubs/chat/permissions/sendToGroup/connections/someid?targetName=notifications%3Aglobal'],
];

test('a client access token is refused by every REST path, even when its audience names that path', async () => {
  const plain = tokenOf((await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url);
  const generated = (await rest(stub, 'POST', '/api/hubs/chat/:generateToken?userId=alice&role=webpubsub.joinLeaveGroup')).json.token;
  assert.ok(generated, 'REST :generateToken works with a real key-signed token');
  for (const [method, p] of REST_OPS) {
    for (const [what, token] of [['access URL token', plain], ['generated client token', generated]]) {
      const r = await rawRequest(stub, { method, path: p, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, body: method === 'POST' ? 'x' : undefined });
      assert.equal(r.status, 401, `${method} ${p} with an ${what}: ${r.status}`);
    }
    const forged = await forgedAccessUrl(stub, alice, p);
    for (const target of replayTargets(forged, p)) {
      const r = await rawRequest(stub, { method, path: target, headers: { Authorization: `Bearer ${forged.token}`, 'Content-Type': 'text/plain' }, body: method === 'POST' ? 'x' : undefined });
      assert.equal(r.status, 401, `${method} ${target} with a Host-forged token: ${r.status}`);
    }
  }
  assert.ok(await healthy(stub));
});

test('WebSocket upgrade: the token audience path must be exactly /client/hubs/<hub>', async () => {
  const base = stub.base;
  const ok = await tryConnect(`${wsBase(stub)}/client/hubs/chat?access_token=${clientToken(stub, { sub: 'mallory' })}`);
  assert.equal(ok.status, 101, 'control: a key-signed token for this hub connects');
  ok.c.close();
  const auds = [
    `${base}/api/hubs/chat/:generateToken?userId=bob&z=/client/hubs/chat`,
    `${base}/client/hubs/chat?z=/client/hubs/chat`,
    `${base}/client/hubs/chat?x=1`,
    `${base}/x/client/hubs/chat`,
    `${base}/api/hubs/chat`,
    `${base}/client/hubs/other`,
    `${base}/client/hubs/chatty`,
  ];
  for (const aud of auds) {
    const token = signJwt({ aud, sub: 'mallory', iat: nowS(), exp: nowS() + 300, role: ['webpubsub.joinLeaveGroup'] });
    for (const url of [`${wsBase(stub)}/client/hubs/chat?access_token=${token}`, `${wsBase(stub)}/client/?hub=chat&access_token=${token}`]) {
      const r = await tryConnect(url);
      if (r.c) r.c.close();
      assert.equal(r.status, 401, `aud ${aud} on ${url.split('?')[0]}: ${r.status}`);
    }
  }
});

test('full replay: alice cannot become bob, join his groups, spoof to him or close his connections', async () => {
  const created = await api(stub.base, bob, 'POST', '/chat/conversations', { title: 'bob and carol', members: ['carol'] });
  assert.equal(created.status, 201);
  const cid = created.json.conversation.conversationId;
  await outboxDrained(stub);  // its conversation.created is out before bob connects
  const bobConn = await joinAs(stub.base, bob, 'notifications:user:bob');
  const state = (await stubApi(stub, 'GET', '/_stub/state')).json;
  const bobConnId = state?.connections?.find((c) => c.userId === 'bob' && c.groups.includes('notifications:user:bob'))?.connectionId;
  assert.ok(bobConnId, 'bob is connected (seen through the authorised /_stub/state)');

  // 1. A token for bob with every role.
  for (const target of ['/api/hubs/chat/:generateToken?userId=bob&role=webpubsub.joinLeaveGroup&role=webpubsub.sendToGroup',
    '/api/hubs/chat/:generateToken?userId=alice&role=webpubsub.joinLeaveGroup']) {  // 2. her own unrestricted roles
    const gen = await forgedAccessUrl(stub, alice, target);
    for (const t of replayTargets(gen, target)) {
      const g = await rawRequest(stub, { method: 'POST', path: t, headers: { Authorization: `Bearer ${gen.token}` } });
      assert.equal(g.status, 401, `alice obtained a token through ${t}: ${g.text}`);
    }
  }
  // 3. With her own access URL she cannot join bob's notifications or a conversation she is not in.
  const mine = await connect((await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url);
  await mine.next((f) => f.event === 'connected');
  let ack = 0;
  for (const group of ['notifications:user:bob', `conversation:${cid}`, `conversation:${cid}:typing`, 'notifications:team:design']) {
    mine.send({ type: 'joinGroup', group, ackId: ++ack });
    const a = await mine.next((f) => f.type === 'ack' && f.ackId === ack);
    assert.equal(a.success, false, `alice joined ${group}`);
    assert.equal(a.error.name, 'Forbidden');
  }
  mine.close();
  // 4. Adding herself to bob's group, spoofing a notification to him, closing his connection.
  const attacks = [
    ['PUT', `/api/hubs/chat/users/alice/groups/notifications%3Auser%3Abob`],
    ['POST', `/api/hubs/chat/groups/notifications%3Auser%3Abob/:send`],
    ['POST', `/api/hubs/chat/users/bob/:send`],
    ['DELETE', `/api/hubs/chat/connections/${bobConnId}`],
    ['POST', `/api/hubs/chat/users/bob/:closeConnections`],
    ['POST', `/api/hubs/chat/:closeConnections`],
  ];
  for (const [method, p] of attacks) {
    const f = await forgedAccessUrl(stub, alice, p);
    for (const t of replayTargets(f, p)) {
      const r = await rawRequest(stub, { method, path: t, headers: { Authorization: `Bearer ${f.token}`, 'Content-Type': 'text/plain' }, body: method === 'POST' ? 'spoofed by alice' : undefined });
      assert.equal(r.status, 401, `${method} ${t}: ${r.status}`);
    }
  }
  // Bob's connection survived and got nothing from alice: a real notification arrives, alone.
  assert.equal((await rest(stub, 'HEAD', `/api/hubs/chat/connections/${bobConnId}`)).status, 200, 'bob is still connected');
  assert.equal((await api(stub.base, carol, 'POST', '/notifications', { id: 'replay-sentinel', title: 'sentinel', target: { kind: 'user', id: 'bob' } })).status, 201);
  // (The backend's own conversation.created for the conversation bob made above may come first.)
  const m = await bobConn.next((f) => f.type === 'message' && !(f.from === 'server' && f.data?.type === 'conversation.created' && f.data?.conversationId === cid), 15000);
  assert.equal(m.data?.notification?.title, 'sentinel', `first message bob got: ${JSON.stringify(m)}`);
  bobConn.close();
});

// Hostile JWT headers: each one signed correctly with the right key, so only the header is wrong.
const HOSTILE_HEADERS = ['{"alg":1,"typ":"JWT"}', '{"alg":null}', '{"alg":[]}', '{"alg":{}}', '{"alg":true}', '{"alg":["HS256"]}',
  '{"alg":{"alg":"HS256"}}', '{"alg":"none","typ":"JWT"}', '{"alg":"HS512","typ":"JWT"}', '{}', '[]', 'null', '1',
  '"HS256"', 'not json', '{"alg":"HS256"'];

function hostileTokens(claims, key) {
  const out = HOSTILE_HEADERS.map((h) => [h, signJwt(claims, key, h)]);
  const b = (x) => Buffer.from(x).toString('base64url');
  const p = b(JSON.stringify(claims));
  out.push(['alg none without signature', `${b('{"alg":"none","typ":"JWT"}')}.${p}.`]);
  out.push(['HS512 signature', `${b('{"alg":"HS512","typ":"JWT"}')}.${p}.${createHmac('sha512', key).update(`${b('{"alg":"HS512","typ":"JWT"}')}.${p}`).digest('base64url')}`]);
  for (const g of ['x', 'a.b', 'a.b.c', 'a.b.c.d', '..', '...', '!!!.###.$$$', `${b('{"alg":"HS256"}')}.${b('[1,2')}.AAAA`,
    `${b('{"alg":"HS256"}')}.${b('"just a string"')}.${createHmac('sha256', key).update(`${b('{"alg":"HS256"}')}.${b('"just a string"')}`).digest('base64url')}`,
    `${b('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[')}.${p}.x`,
    `${b('['.repeat(3000))}.${p}.x`])
    out.push([`garbage ${g.slice(0, 40)}`, g]);
  return out;
}

test('hostile JWT headers and garbage tokens get 401 with a JSON reason; the server stays up and keeps delivering', async () => {
  const own = await startStub();
  try {
    const now = nowS();
    const b = await login(own.base, 'bob');
    const c = await login(own.base, 'carol');
    const restPath = '/api/hubs/chat/groups/g/connections';
    // Controls: the same claims under a good header are accepted everywhere.
    assert.equal((await tryConnect(`${wsBase(own)}/client/hubs/chat?access_token=${clientToken(own, { sub: 'mallory' })}`)).status, 101);
    assert.equal((await rawRequest(own, { path: restPath, headers: { Authorization: `Bearer ${restToken(own, restPath)}` } })).status, 200);
    assert.equal((await rawRequest(own, { path: '/me', headers: { Authorization: `Bearer ${sessionToken('bob')}` } })).status, 200);
    const cases = [
      ['WebSocket upgrade', hostileTokens({ aud: `${own.base}/client/hubs/chat`, sub: 'mallory', iat: now, exp: now + 600 }, ACCESS_KEY),
        async (t) => {
          const r = await tryConnect(`${wsBase(own)}/client/hubs/chat?access_token=${encodeURIComponent(t)}`);
          if (r.c) r.c.close();
          let json = null;
          try { json = JSON.parse(r.body); } catch { /* not JSON */ }
          return { status: r.status, json, text: r.body };
        }],
      ['REST', hostileTokens({ aud: own.base + restPath, iat: now, exp: now + 600 }, ACCESS_KEY),
        (t) => rawRequest(own, { path: restPath, headers: { Authorization: `Bearer ${t}` } })],
      ['session (/me)', hostileTokens({ sub: 'bob', aud: 'chat-app', exp: now + 600 }, APP_SECRET),
        (t) => rawRequest(own, { path: '/me', headers: { Authorization: `Bearer ${t}` } })],
    ];
    for (const [surface, tokens, tryIt] of cases) {
      for (const [name, token] of tokens) {
        let r;
        try { r = await tryIt(token); } catch (e) { r = { status: 0, text: String(e) }; }
        assert.equal(r.status, 401, `${surface}, header ${name}: ${r.status} ${r.text?.slice(0, 200)}`);
        assert.equal(typeof r.json?.error?.message, 'string', `${surface}, header ${name}: a JSON reason (${r.text?.slice(0, 200)})`);
        assert.ok(await healthy(own), `${surface}, header ${name}: the server is still up`);
      }
    }
    // Other users' live delivery still works.
    const rcv = await joinAs(own.base, b, 'conversation:demo');
    const sent = await api(own.base, c, 'POST', '/chat/reply', { conversationId: 'demo', message: 'still here', clientMessageId: 'alive-1' });
    assert.equal(sent.status, 201);
    assert.equal((await rcv.next((f) => f.type === 'message' && f.from === 'group' && f.data?.type === 'chat.message', 15000)).data.message.text, 'still here');
    rcv.close();
  } finally { await own.stop(); }
});

test('tokens without exp are refused: session, REST data plane, client access', async () => {
  // The test signs like the server does: with exp the same tokens are accepted.
  assert.equal((await rawRequest(stub, { path: '/me', headers: { Authorization: `Bearer ${sessionToken('bob')}` } })).status, 200);
  const noExp = signJwt({ sub: 'bob', aud: 'chat-app' }, APP_SECRET);
  assert.equal((await rawRequest(stub, { path: '/me', headers: { Authorization: `Bearer ${noExp}` } })).status, 401, 'session token without exp');
  for (const p of ['/chat/conversations', '/notifications']) assert.equal((await api(stub.base, noExp, 'GET', p)).status, 401, p);

  const restPath = '/api/hubs/chat/groups/g/connections';
  const withExp = signJwt({ aud: stub.base + restPath, exp: nowS() + 60 });
  assert.equal((await rawRequest(stub, { path: restPath, headers: { Authorization: `Bearer ${withExp}` } })).status, 200);
  const restNoExp = signJwt({ aud: stub.base + restPath, iat: nowS() });
  assert.equal((await rawRequest(stub, { path: restPath, headers: { Authorization: `Bearer ${restNoExp}` } })).status, 401, 'REST token without exp');

  const ok = await tryConnect(`${wsBase(stub)}/client/hubs/chat?access_token=${signJwt({ aud: `${stub.base}/client/hubs/chat`, sub: 'bob', exp: nowS() + 60 })}`);
  assert.equal(ok.status, 101);
  ok.c.close();
  const r = await tryConnect(`${wsBase(stub)}/client/hubs/chat?access_token=${signJwt({ aud: `${stub.base}/client/hubs/chat`, sub: 'bob', role: ['webpubsub.joinLeaveGroup'] })}`);
  if (r.c) r.c.close();
  assert.equal(r.status, 401, 'client access token without exp');
  // exp of another type than a number is no exp.
  for (const exp of ['9999999999', null, [9999999999], { n: 1 }, true]) {
    const t = signJwt({ sub: 'bob', aud: 'chat-app', exp }, APP_SECRET);
    assert.equal((await rawRequest(stub, { path: '/me', headers: { Authorization: `Bearer ${t}` } })).status, 401, `exp ${JSON.stringify(exp)}`);
  }
});

// Signature variants whose decoded bytes may equal the real MAC under a lenient decoder.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function lastCharVariant(part) {
  // 43 chars for 32 bytes: the last character carries 2 unused low bits; flip the lowest one.
  const i = ALPHABET.indexOf(part.at(-1));
  return part.slice(0, -1) + ALPHABET[i ^ 1];
}
function variants(token) {
  const [h, p, s] = token.split('.');
  const out = [
    ['unused signature bits set', `${h}.${p}.${lastCharVariant(s)}`],
    ['padded signature', `${h}.${p}.${s}=`],
    ['standard base64 signature', `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`],
    ['standard base64 padded', `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`],
    ['signature with whitespace', `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`],
  ];
  if (p.length % 4 !== 0) out.push(['unused payload bits set', `${h}.${lastCharVariant(p)}.${s}`]);
  if (h.length % 4 !== 0) out.push(['unused header bits set', `${lastCharVariant(h)}.${p}.${s}`]);
  return out;
}
// Signs claims + a varying nonce until the signature has a '-' or '_' (so that the standard
// base64 form differs) and the last char has its lowest bit clear or set (either works).
function signWithDash(claims, key) {
  for (let n = 0; ; n++) {
    const t = signJwt({ ...claims, jti: `n${n}` }, key);
    const s = t.split('.')[2];
    if (/[-_]/.test(s) && t.split('.')[1].length % 4 !== 0) return t;
  }
}

test('non-canonical signatures (unused bits, padding, standard base64) are refused on REST, /me and the WebSocket', async () => {
  const restPath = '/api/hubs/chat/groups/g/connections';
  const surfaces = [
    ['REST', signWithDash({ aud: stub.base + restPath, exp: nowS() + 300 }, ACCESS_KEY),
      (t) => rawRequest(stub, { path: restPath, headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status), 200],
    ['/me', signWithDash({ sub: 'bob', aud: 'chat-app', exp: nowS() + 300 }, APP_SECRET),
      (t) => rawRequest(stub, { path: '/me', headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status), 200],
    ['WebSocket', signWithDash({ aud: `${stub.base}/client/hubs/chat`, sub: 'bob', exp: nowS() + 300 }, ACCESS_KEY),
      async (t) => { const r = await tryConnect(`${wsBase(stub)}/client/hubs/chat?access_token=${encodeURIComponent(t)}`); if (r.c) r.c.close(); return r.status; }, 101],
  ];
  for (const [surface, token, status, okStatus] of surfaces) {
    assert.equal(await status(token), okStatus, `${surface}: the canonical token is accepted`);
    for (const [name, v] of variants(token)) {
      assert.notEqual(v, token);
      assert.equal(await status(v), 401, `${surface}: ${name}`);
    }
  }
});

test('recovery: refused once the access token has expired (--token-ttl 2), allowed with a live token', async () => {
  const run = async (s, expectRecovered) => {
    const b = await login(s.base, 'bob');
    const url = (await api(s.base, b, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
    const exp = claimsOf(url).exp;
    const c = await connect(url, 'json.reliable.webpubsub.azure.v1');
    const hello = await c.next((f) => f.event === 'connected');
    assert.equal((await stubApi(s, 'POST', '/_stub/drop?userId=bob')).status, 200);
    await c.closed;
    // Wait until the token is more than 2 s past its expiry (4-5 s with a 2 s ttl); the control
    // with a long-lived token waits as long.
    const until = expectRecovered ? nowS() + 5 : exp + 3;
    assert.ok(await waitFor(() => nowS() >= until, { timeout: 20000 }));
    const again = new URL(url);
    again.searchParams.set('awps_connection_id', hello.connectionId);
    again.searchParams.set('awps_reconnection_token', hello.reconnectionToken);
    const r = await tryConnect(again.toString(), 'json.reliable.webpubsub.azure.v1');
    if (r.status !== 101) return { refusedStatus: r.status };
    const first = await connectedOrClosed(r.c);
    r.c.close();
    if (expectRecovered) {
      assert.equal(first.connected?.connectionId, hello.connectionId, `control: recovered ${JSON.stringify(first)}`);
      return first;
    }
    return first;
  };
  // Control with the default ttl (600 s): the same wait, and the session is recovered.
  await run(stub, true);
  const short = await startStub({ args: ['--token-ttl', '2'] });
  try {
    const out = await run(short, false);
    assert.ok(out.refusedStatus === 401 || (out.closed && out.closed.code === 1008 && !out.connected),
      `recovery after expiry must be refused (HTTP 401 or close 1008), got ${JSON.stringify(out)}`);
    assert.ok(await healthy(short));
  } finally { await short.stop(); }
});

test('a recovery URL without its reconnection token is refused, never turned into a fresh connection', async () => {
  const url = (await api(stub.base, bob, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
  const c = await connect(url, 'json.reliable.webpubsub.azure.v1');
  const hello = await c.next((f) => f.event === 'connected');
  assert.equal((await stubApi(stub, 'POST', '/_stub/drop?userId=bob')).status, 200);
  await c.closed;
  for (const tail of [`awps_connection_id=${hello.connectionId}`, `awps_connection_id=${hello.connectionId}&awps_reconnection_token=`]) {
    const fresh = (await api(stub.base, bob, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
    const r = await tryConnect(`${fresh}&${tail}`, 'json.reliable.webpubsub.azure.v1');
    if (r.status !== 101) {
      assert.ok(r.status >= 400 && r.status < 500, `${tail}: HTTP ${r.status}`);
      continue;
    }
    const first = await connectedOrClosed(r.c);
    r.c.close();
    assert.ok(!first.connected, `${tail}: the server made a connection ${JSON.stringify(first.connected)}`);
    assert.equal(first.closed?.code, 1008, `${tail}: ${JSON.stringify(first)}`);
  }
  // The real recovery (with the token) still works afterwards.
  const again = new URL(url);
  again.searchParams.set('awps_connection_id', hello.connectionId);
  again.searchParams.set('awps_reconnection_token', hello.reconnectionToken);
  const ok = await connect(again.toString(), 'json.reliable.webpubsub.azure.v1');
  assert.equal((await ok.next((f) => f.event === 'connected')).connectionId, hello.connectionId);
  ok.close();
});

// The backend keeps session tokens it verified (AppApi::authenticate): a kept token still expires
// on time, and is answered as its own user only.
test('a session token accepted before is refused once it expires, and each kept token answers as its own user', async () => {
  const me = (t) => rawRequest(stub, { path: '/me', headers: { Authorization: `Bearer ${t}` } });
  // Signed just after a second begins: the token lives 3 s less that fraction (at least 2.9 s for
  // the six requests below, on a busy machine too).
  while (Date.now() % 1000 > 100) await new Promise((r) => setTimeout(r, 10));
  const exp = nowS() + 3;
  const bob = signJwt({ sub: 'bob', aud: 'chat-app', exp }, APP_SECRET);
  const alice = signJwt({ sub: 'alice', aud: 'chat-app', exp: nowS() + 600 }, APP_SECRET);
  for (let i = 0; i < 3; i++) {
    const [b, a] = [await me(bob), await me(alice)];
    assert.equal(b.status, 200);
    assert.equal(b.json.userId, 'bob');
    assert.equal(a.status, 200);
    assert.equal(a.json.userId, 'alice');
  }
  while (nowS() < exp) await new Promise((r) => setTimeout(r, 100));
  const late = await me(bob);
  assert.equal(late.status, 401);
  assert.match(late.json.error.message, /expired/);
  assert.equal((await me(bob)).status, 401, 'and again');
  assert.equal((await me(alice)).status, 200, 'a live token is still kept');
});
