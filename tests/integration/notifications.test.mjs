// Notifications API: targeting, cursor paging while items arrive, read/seen/archive state, live delivery.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

let stub;
let alice;
let bob;
let carol;
before(async () => {
  stub = await startStub();
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

const create = (token, body) => api(stub.base, token, 'POST', '/notifications', body);
// The backend's own path (global targets, external links): POST /_stub/notifications.
const createAsBackend = (body) => stubApi(stub, 'POST', '/_stub/notifications', body);
const list = (token, q = '') => api(stub.base, token, 'GET', `/notifications${q}`);

test('targeting: user, team and global reach exactly their audience', async () => {
  assert.equal((await create(alice, { id: 'n-user-bob', title: 'For bob', target: { kind: 'user', id: 'bob' } })).status, 201);
  assert.equal((await create(alice, { id: 'n-team-core', title: 'For core', target: { kind: 'team', id: 'core' } })).status, 201);
  assert.equal((await createAsBackend({ id: 'n-all', title: 'For all', body: 'b', target: { kind: 'global' }, action: { label: 'Open', link: 'https://example.com' } })).status, 201);
  const ids = async (t) => (await list(t)).json.items.map((n) => n.id);
  assert.deepEqual(await ids(bob), ['n-all', 'n-team-core', 'n-user-bob', 'welcome']);
  assert.deepEqual(await ids(alice), ['n-all', 'n-team-core', 'welcome']);
  assert.deepEqual(await ids(carol), ['n-all', 'welcome']);
  const all = (await list(carol)).json.items[0];
  assert.deepEqual(all.action, { label: 'Open', link: 'https://example.com' });
  assert.equal(all.read, false);
  // Stable ids: creating again is idempotent, for the backend and for a user's own ids.
  const again = await createAsBackend({ id: 'n-all', title: 'For all', target: { kind: 'global' } });
  assert.equal(again.status, 200);
  assert.equal(again.json.duplicate, true);
  const mine = await create(alice, { id: 'n-user-bob', title: 'For bob', target: { kind: 'user', id: 'bob' } });
  assert.equal(mine.status, 200);
  assert.equal(mine.json.duplicate, true);
});

test('bad notifications are refused with a reason', async () => {
  assert.equal((await create(alice, { title: 'x' })).status, 400);
  assert.match((await create(alice, { title: 'x', target: { kind: 'planet' } })).json.error.message, /user, team or global/);
  assert.match((await create(alice, { title: 'x', target: { kind: 'user', id: 'nobody' } })).json.error.message, /Unknown user/);
  assert.equal((await create(alice, { title: 5, target: { kind: 'user', id: 'bob' } })).status, 400);
  assert.equal((await list(alice, '?limit=abc')).status, 400);
});

test('cursor paging has no holes or duplicates while new items arrive', async () => {
  for (let i = 0; i < 7; i++) await create(alice, { id: `page-${i}`, title: `p${i}`, target: { kind: 'user', id: 'carol' } });
  const seen = [];
  let cursor = '';
  let inserted = 0;
  for (;;) {
    const page = await list(carol, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...page.json.items.map((n) => n.id));
    // New items keep arriving between page loads.
    await create(alice, { id: `late-${inserted++}`, title: 'late', target: { kind: 'user', id: 'carol' } });
    if (!page.json.nextCursor) break;
    cursor = page.json.nextCursor;
  }
  assert.equal(new Set(seen).size, seen.length, 'no duplicates');
  for (let i = 0; i < 7; i++) assert.ok(seen.includes(`page-${i}`), `page-${i} present`);
  assert.ok(!seen.some((id) => id.startsWith('late-')), 'newer items are not mixed into older pages');
});

test('unread count, mark one, mark all, seen, archive', async () => {
  const count = async (t) => (await api(stub.base, t, 'GET', '/notifications/unread-count')).json.unreadCount;
  const before = await count(bob);
  assert.ok(before >= 4);
  const one = await api(stub.base, bob, 'POST', '/notifications/read', { ids: ['n-user-bob'] });
  assert.equal(one.json.unreadCount, before - 1);
  const items = (await list(bob)).json.items;
  assert.equal(items.find((n) => n.id === 'n-user-bob').read, true);
  assert.equal(items.find((n) => n.id === 'n-user-bob').seen, true, 'read implies seen');
  await api(stub.base, bob, 'POST', '/notifications/seen', { ids: ['n-all'] });
  const seenOnly = (await list(bob)).json.items.find((n) => n.id === 'n-all');
  assert.deepEqual([seenOnly.seen, seenOnly.read], [true, false]);
  // Another user's read state is separate.
  assert.equal((await list(alice)).json.items.find((n) => n.id === 'n-all').seen, false);
  await api(stub.base, bob, 'POST', '/notifications/archive', { ids: ['n-team-core'] });
  assert.ok(!(await list(bob)).json.items.some((n) => n.id === 'n-team-core'));
  assert.ok((await list(bob, '?archived=true')).json.items.some((n) => n.id === 'n-team-core'));
  const all = await api(stub.base, bob, 'POST', '/notifications/read', { all: true });
  assert.equal(all.json.unreadCount, 0);
  assert.equal(await count(bob), 0);
  assert.equal((await api(stub.base, bob, 'POST', '/notifications/read', {})).status, 400);
  // Marking a notification bob cannot see does nothing.
  await api(stub.base, carol, 'POST', '/notifications/read', { ids: ['n-user-bob'] });
  assert.ok(!(await list(carol)).json.items.some((n) => n.id === 'n-user-bob'));
});

test('live: a notification reaches the user, team and global groups over the socket', async () => {
  const url = (await api(stub.base, bob, 'POST', '/realtime/clientAccessUrl',
    { groups: ['notifications:user:bob', 'notifications:team:core', 'notifications:global'] })).json.url;
  const c = await connect(url);
  await c.next((f) => f.event === 'connected');
  let ack = 1;
  for (const g of ['notifications:user:bob', 'notifications:team:core', 'notifications:global']) {
    c.send({ type: 'joinGroup', group: g, ackId: ack });
    assert.equal((await c.next((f) => f.ackId === ack)).success, true);
    ack++;
  }
  // Read-only: no send rights on the global group.
  c.send({ type: 'sendToGroup', group: 'notifications:global', ackId: 99, dataType: 'text', data: 'spam' });
  assert.equal((await c.next((f) => f.ackId === 99)).error.name, 'Forbidden');
  for (const [id, target, group] of [['live-u', { kind: 'user', id: 'bob' }, 'notifications:user:bob'],
    ['live-t', { kind: 'team', id: 'core' }, 'notifications:team:core'], ['live-g', { kind: 'global' }, 'notifications:global']]) {
    const r = target.kind === 'global' ? await createAsBackend({ id, title: id, target }) : await create(alice, { id, title: id, target });
    assert.equal(r.status, 201);
    const m = await c.next((f) => f.type === 'message');
    assert.equal(m.group, group);
    assert.equal(m.data.type, 'notification');
    assert.equal(m.data.eventId, id);
    assert.equal(m.data.notification.title, id);
  }
  c.close();
});
