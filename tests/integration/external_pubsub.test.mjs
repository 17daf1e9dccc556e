// An external Web PubSub service by connection string (https): access URLs point at it, and the
// outbox publishes to its REST API over TLS with key-signed tokens. A local TLS server stands in
// for Azure here (no network), checking what the real service checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi, rawRequest } from '../lib/stub.mjs';

const KEY = 'external-service-key-0123456789abcdef0123';
let dir;
let server;
let port;
const requests = [];

function verifyJwt(token, key) {
  const [h, p, s] = token.split('.');
  const expected = createHmac('sha256', key).update(`${h}.${p}`).digest('base64url');
  if (expected !== s) return null;
  return JSON.parse(Buffer.from(p, 'base64url'));
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
    '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const claims = verifyJwt((req.headers.authorization || '').replace(/^Bearer /, ''), KEY);
      requests.push({ method: req.method, url: req.url, body, claims });
      const aud = `https://localhost:${port}${req.url}`;
      if (!claims || (claims.aud !== aud && claims.aud !== aud.split('?')[0])) { res.writeHead(401); res.end('{"code":"Unauthorized"}'); return; }
      // The statuses the real service answers (docs: webpubsub-protocol.md §3).
      const op = req.url.split('?')[0];
      const status = /\/:(addToGroups|removeFromGroups)$/.test(op) ? 200
        : op.includes('/permissions/') ? (req.method === 'PUT' ? 200 : 204)
        : req.method === 'DELETE' && /\/connections\/[^/]+$/.test(op) ? 204 : 202;
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
});
after(async () => { server?.close(); rmSync(dir, { recursive: true, force: true }); });

test('access URLs and outbox publishes go to the external service over verified TLS', async () => {
  const stub = await startStub({ args: ['--pubsub-connection-string', `Endpoint=https://localhost:${port};AccessKey=${KEY};Version=1.0;`,
    '--pubsub-ca-file', path.join(dir, 'cert.pem')] });
  try {
    const alice = await login(stub.base, 'alice');
    const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
    assert.match(url, new RegExp(`^wss://localhost:${port}/client/hubs/chat\\?access_token=`));
    const claims = verifyJwt(url.split('access_token=')[1], KEY);
    assert.ok(claims, 'signed with the external service key');
    assert.equal(claims.aud, `https://localhost:${port}/client/hubs/chat`);
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'via azure', clientMessageId: 'ext-1' });
    let hit;
    for (let i = 0; i < 50 && !hit; i++) {
      hit = requests.find((r) => r.body.includes(sent.json.message.messageId));
      if (!hit) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(hit, 'the service received the publish');
    assert.equal(hit.method, 'POST');
    assert.equal(hit.url, '/api/hubs/chat/groups/conversation%3Ademo/:send?api-version=2024-12-01');
    assert.equal(JSON.parse(hit.body).message.text, 'via azure');
    const state = (await stubApi(stub, 'GET', '/_stub/state')).json;
    assert.equal(state.outbox.dead, 0);
  } finally { await stub.stop(); }
});

test('an untrusted certificate is refused: the row is retried and parked with the TLS error', async () => {
  const stub = await startStub({ args: ['--pubsub-connection-string', `Endpoint=https://localhost:${port};AccessKey=${KEY};Version=1.0;`,
    '--outbox-max-attempts', '1'] });
  try {
    const alice = await login(stub.base, 'alice');
    const before = requests.length;
    await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'never trusted', clientMessageId: 'ext-2' });
    let state;
    for (let i = 0; i < 50; i++) {
      state = (await stubApi(stub, 'GET', '/_stub/state')).json;
      if (state.outbox.dead > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(state.outbox.dead >= 1);
    assert.match(state.outbox.deadRows.map((r) => r.lastError).join(' '), /certificate|verify/i);
    assert.equal(requests.slice(before).filter((r) => r.body.includes('never trusted')).length, 0);
  } finally { await stub.stop(); }
});

test('subscriptions and activity go to the external service: filters keep them to the right connection and members', async () => {
  const stub = await startStub({ args: ['--pubsub-connection-string', `Endpoint=https://localhost:${port};AccessKey=${KEY};Version=1.0;`,
    '--pubsub-ca-file', path.join(dir, 'cert.pem')] });
  try {
    const alice = await login(stub.base, 'alice');
    const before = requests.length;
    const sub = await api(stub.base, alice, 'POST', '/chat/subscribe', { connectionId: "conn-'1", conversationId: 'demo', previousConversationId: null });
    assert.equal(sub.status, 200, JSON.stringify(sub.json));
    const calls = requests.slice(before);
    const add = calls.find((r) => r.url.startsWith('/api/hubs/chat/:addToGroups?'));
    assert.ok(add, calls.map((r) => r.url).join('\n'));
    // The filter names the connection and the signed-in user (quotes doubled, as OData escapes them).
    assert.deepEqual(JSON.parse(add.body), { groups: ['conversation:demo', 'conversation:demo:typing'], filter: "connectionId eq 'conn-''1' and userId eq 'alice'" });
    const grant = calls.find((r) => r.method === 'PUT' && r.url.includes('/permissions/sendToGroup/connections/'));
    assert.ok(grant && grant.url.includes('targetName=conversation%3Ademo%3Atyping'), 'typing may be sent to the subscribed conversation');
    // A message: the group publish and one activity send to the members, by filter.
    const sent = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'activity', clientMessageId: 'ext-act' });
    let act;
    for (let i = 0; i < 50 && !act; i++) {
      act = requests.find((r) => r.url.startsWith('/api/hubs/chat/:send?') && r.body.includes(`act:${sent.json.message.messageId}`));
      if (!act) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(act, 'the activity event reached the service');
    const filter = new URL(act.url, 'https://x').searchParams.get('filter');
    // Members only, and not the connections subscribed to the conversation (they get the message).
    assert.equal(filter, "userId in ('alice','bob','carol') and not('conversation:demo' in groups)");
    assert.equal(JSON.parse(act.body).type, 'conversation.activity');
  } finally { await stub.stop(); }
});

test('POST /realtime/leave with an external service: only a connection the store knows as the caller\'s is closed there, and presence follows at once', async () => {
  const stub = await startStub({ args: ['--pubsub-connection-string', `Endpoint=https://localhost:${port};AccessKey=${KEY};Version=1.0;`,
    '--pubsub-ca-file', path.join(dir, 'cert.pem')] });
  try {
    const [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => login(stub.base, u)));
    // The service's connected event for bob's connection, signed with its key (binary-mode CloudEvents).
    const connectionId = 'ext-conn-1';
    const connected = await rawRequest(stub, { method: 'POST', path: '/eventhandler', body: '{}', headers: {
      'content-type': 'application/json; charset=utf-8', 'ce-specversion': '1.0', 'ce-type': 'azure.webpubsub.sys.connected',
      'ce-awpsversion': '1.0', 'ce-source': `/hubs/chat/client/${connectionId}`, 'ce-id': '1', 'ce-time': new Date().toISOString(),
      'ce-hub': 'chat', 'ce-connectionId': connectionId, 'ce-userId': 'bob', 'ce-eventName': 'connected',
      'webhook-request-origin': `localhost:${port}`,
      'ce-signature': 'sha256=' + createHmac('sha256', KEY).update(connectionId).digest('hex') } });
    assert.equal(connected.status, 204, connected.text);
    const presence = async () => (await api(stub.base, alice, 'GET', '/conversation/detail?conversationId=demo')).json.presence.bob;
    assert.equal((await presence()).online, true);

    const deletes = () => requests.filter((r) => r.method === 'DELETE' && r.url.includes('/connections/'));
    const before = deletes().length;
    for (const [token, id] of [[alice, connectionId], [bob, 'ext-conn-unknown']]) {
      const r = await api(stub.base, token, 'POST', '/realtime/leave', { connectionId: id });
      assert.equal(r.status, 404, r.text);
    }
    assert.equal(deletes().length, before, 'nothing reached the service for a connection that is not the caller\'s');

    const r = await api(stub.base, bob, 'POST', '/realtime/leave', { connectionId });
    assert.equal(r.status, 204, r.text);
    const [del] = deletes().slice(before);
    assert.ok(del, 'the service was asked to close the connection');
    assert.match(del.url, new RegExp(`^/api/hubs/chat/connections/${connectionId}\\?api-version=2024-12-01&reason=`));
    assert.equal((await presence()).online, false, 'offline without waiting for the service\'s disconnected event');
    const again = await api(stub.base, bob, 'POST', '/realtime/leave', { connectionId });
    assert.equal(again.status, 404, 'an ended connection is no longer the caller\'s live one');
  } finally {
    await stub.stop();
  }
});
