// Notifications created by signed-in users: targets they may reach, links they may put in an action
// button, ids they may reuse. The backend's path (POST /_stub/notifications) keeps every option.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi, sessionToken } from '../lib/stub.mjs';

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

let n = 0;
const create = (token, body) => api(stub.base, token, 'POST', '/notifications', { id: `authz-${++n}`, title: 't', ...body });
const ids = async (token) => (await api(stub.base, token, 'GET', '/notifications?limit=100')).json.items.map((x) => x.id);

test('a user may target any user or a team she belongs to; global and other teams are 403', async () => {
  assert.equal((await create(alice, { target: { kind: 'user', id: 'carol' } })).status, 201, 'any existing user');
  assert.equal((await create(alice, { target: { kind: 'user', id: 'alice' } })).status, 201, 'herself');
  assert.equal((await create(alice, { target: { kind: 'team', id: 'core' } })).status, 201, 'her own team');
  for (const target of [{ kind: 'global' }, { kind: 'global', id: 'x' }, { kind: 'team', id: 'design' }, { kind: 'team', id: 'nosuchteam' }]) {
    const id = `authz-denied-${++n}`;
    const r = await api(stub.base, alice, 'POST', '/notifications', { id, title: 'Phishing', target, action: { label: 'Open', link: 'app:conversation/demo' } });
    assert.equal(r.status, 403, `${JSON.stringify(target)}: ${r.status} ${r.text}`);
    assert.ok(!(await ids(carol)).includes(id), 'nothing reached carol');
    assert.ok(!(await ids(bob)).includes(id), 'nothing reached bob');
  }
  assert.equal((await create(carol, { target: { kind: 'team', id: 'core' } })).status, 403, 'carol is not in core');
  assert.equal((await create(carol, { target: { kind: 'team', id: 'design' } })).status, 201, 'carol is in design');
});

test('action links from users: app: or a same-site path only', async () => {
  for (const link of ['app:conversation/demo', 'app:notifications', '/', '/chat?conversation=demo', '/blobs/blob_1?exp=1&sig=x']) {
    const r = await create(alice, { target: { kind: 'user', id: 'bob' }, action: { label: 'Open', link } });
    assert.equal(r.status, 201, `${link}: ${r.status} ${r.text}`);
  }
  for (const link of ['https://evil.example', 'http://evil.example/login', 'javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)',
    '\tjavascript:alert(1)', '//evil.example', '///evil.example', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox',
    'file:///etc/passwd', 'evil.example', 'relative/path', '', '\\\\evil.example', 'mailto:a@evil.example',
    'app:javascript:alert(1)', 'app://evil.example', 'app:', 'app:/x', '/../chat/reply', '/a/../../b', '/x y']) {
    const r = await create(alice, { target: { kind: 'user', id: 'bob' }, action: { label: 'Open', link } });
    assert.equal(r.status, 400, `${JSON.stringify(link)}: ${r.status}`);
  }
});

test('action links: paths that browsers turn protocol-relative (backslash, or tab/CR/LF which they strip) are 400', async () => {
  for (const link of ['/\\evil.example', '/\\/evil.example', '/\t/evil.example', '/\n/evil.example', '/\r/evil.example', '/\u0000/evil.example']) {
    const r = await create(alice, { target: { kind: 'user', id: 'bob' }, action: { label: 'Open', link } });
    assert.equal(r.status, 400, `${JSON.stringify(link)}: ${r.status}`);
  }
});

test('reusing another creator\'s notification id is 409 and reveals nothing; one\'s own id is a 200 duplicate', async () => {
  const secret = { id: 'bob-private-1', title: 'Secret title 7f3a', body: 'Secret body 9c2e', target: { kind: 'user', id: 'bob' } };
  assert.equal((await api(stub.base, bob, 'POST', '/notifications', secret)).status, 201);
  const stolen = await api(stub.base, alice, 'POST', '/notifications', { id: 'bob-private-1', title: 'x', target: { kind: 'user', id: 'alice' } });
  assert.equal(stolen.status, 409, stolen.text);
  assert.ok(!stolen.text.includes('Secret title 7f3a') && !stolen.text.includes('Secret body 9c2e'), `the 409 reveals the notification: ${stolen.text}`);
  // Same for ids made by the backend (the seeded welcome and /_stub/ ones).
  assert.equal((await stubApi(stub, 'POST', '/_stub/notifications', { id: 'backend-1', title: 'Backend secret 41d0', target: { kind: 'user', id: 'carol' } })).status, 201);
  for (const id of ['welcome', 'backend-1']) {
    const r = await api(stub.base, alice, 'POST', '/notifications', { id, title: 'x', target: { kind: 'user', id: 'alice' } });
    assert.equal(r.status, 409, `${id}: ${r.status}`);
    assert.ok(!r.text.includes('Backend secret 41d0') && !r.text.includes('Welcome to the demo'), `${id}: ${r.text}`);
  }
  const again = await api(stub.base, bob, 'POST', '/notifications', secret);
  assert.equal(again.status, 200);
  assert.equal(again.json.duplicate, true);
  // The stolen id did not reach alice's feed.
  const items = (await api(stub.base, alice, 'GET', '/notifications?limit=100')).json.items;
  assert.ok(!items.some((x) => x.id === 'bob-private-1'));
});

test('the backend path (/_stub/notifications) may target anyone, including global, with https links; it needs the key', async () => {
  const global = await stubApi(stub, 'POST', '/_stub/notifications', { id: 'ops-global-1', title: 'Maintenance', target: { kind: 'global' }, action: { label: 'Status', link: 'https://status.example' } });
  assert.equal(global.status, 201, global.text);
  const team = await stubApi(stub, 'POST', '/_stub/notifications', { id: 'ops-team-1', title: 'Design review', target: { kind: 'team', id: 'design' } });
  assert.equal(team.status, 201, team.text);
  assert.ok((await ids(carol)).includes('ops-global-1'));
  assert.ok((await ids(carol)).includes('ops-team-1'));
  const item = (await api(stub.base, bob, 'GET', '/notifications?limit=100')).json.items.find((x) => x.id === 'ops-global-1');
  assert.deepEqual(item.action, { label: 'Status', link: 'https://status.example' });
  // Without the key-signed token, or with a user's session token, the backend path is closed.
  const anon = await fetch(`${stub.base}/_stub/notifications`, { method: 'POST', body: JSON.stringify({ title: 'x', target: { kind: 'global' } }) });
  assert.equal(anon.status, 401);
  assert.equal((await api(stub.base, alice, 'POST', '/_stub/notifications', { title: 'x', target: { kind: 'global' } })).status, 401);
  // The backend path still validates: javascript: links are never stored.
  assert.equal((await stubApi(stub, 'POST', '/_stub/notifications', { title: 'x', target: { kind: 'global' }, action: { label: 'x', link: 'javascript:alert(1)' } })).status, 400);
});

test('--no-dev: users cannot create notifications at all; the backend path still can', async () => {
  const s = await startStub({ args: ['--no-dev'] });
  try {
    const aliceSession = sessionToken('alice');  // what an identity provider in front would issue
    assert.equal((await api(s.base, aliceSession, 'GET', '/me')).status, 200);
    const r = await api(s.base, aliceSession, 'POST', '/notifications', { title: 't', target: { kind: 'user', id: 'bob' } });
    assert.equal(r.status, 403, r.text);
    assert.equal((await stubApi(s, 'POST', '/_stub/notifications', { title: 't', target: { kind: 'user', id: 'bob' } })).status, 201);
  } finally { await s.stop(); }
});

test('users are rate-limited when creating notifications (30 per minute, burst 30): 429 with Retry-After', async () => {
  const local = await startStub();
  try {
    const dave = await login(local.base, 'bob');
    let status = 0;
    let tries = 0;
    for (; tries < 40 && status !== 429; tries++) {
      const r = await api(local.base, dave, 'POST', '/notifications', { id: `rate-${tries}`, title: 't', target: { kind: 'user', id: 'carol' } });
      status = r.status;
      if (status === 429) assert.match(r.text, /Too many notifications/);
    }
    assert.equal(status, 429, 'the burst ran out');
    assert.ok(tries > 25 && tries <= 32, `429 after ${tries} notifications`);
    const backend = await stubApi(local, 'POST', '/_stub/notifications', { id: 'rate-backend', title: 't', target: { kind: 'user', id: 'carol' } });
    assert.equal(backend.status, 201, 'the backend path is not limited');
  } finally { await local.stop(); }
});
