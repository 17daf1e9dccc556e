// App API input validation: wrong JSON types answer 400 with a reason (never 500), attachment
// links, conversation size limits and the per-user creation rate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api, stubApi, healthy, rest } from '../lib/stub.mjs';

let stub;
let alice;
before(async () => {
  stub = await startStub({ args: ['--send-rate', '0', '--quiet'] });
  alice = await login(stub.base, 'alice');
});
after(async () => { await stub?.stop(); });

const post = (p, body, token = alice) => api(stub.base, token, 'POST', p, body);
function bad(r, what) {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
  assert.equal(typeof r.json?.error?.message, 'string', `${what}: a reason`);
}

test('wrong JSON types answer 400 with a reason', async () => {
  bad(await post('/realtime/clientAccessUrl', { hubName: 5 }), 'hubName 5');
  bad(await post('/realtime/clientAccessUrl', { groups: 'x' }), 'groups "x"');
  bad(await post('/realtime/clientAccessUrl', { groupName: 7 }), 'groupName 7');
  bad(await post('/chat/reply', { conversationId: 1, message: 'x' }), 'reply conversationId 1');
  bad(await post('/chat/read', { conversationId: 1, seq: 1 }), 'read conversationId 1');
  bad(await post('/chat/read', { conversationId: 'demo', seq: -1 }), 'read seq -1');
  bad(await post('/chat/read', { conversationId: 'demo', seq: 1.5 }), 'read seq 1.5');
  bad(await post('/chat/read', { conversationId: 'demo', seq: '1' }), 'read seq "1"');
  bad(await post('/notifications/read', { ids: [1] }), 'ids [1]');
  bad(await post('/notifications/read', { all: 'yes' }), 'all "yes"');
  bad(await post('/notifications/seen', { all: 1 }), 'seen all 1');
  bad(await post('/notifications/archive', { ids: 'x' }), 'archive ids "x"');
  bad(await post('/chat/conversations', { title: 5 }), 'title 5');
  bad(await post('/chat/conversations', { title: 't', members: 'bob' }), 'members "bob"');
  bad(await post('/chat/conversations', { title: 't', members: [5] }), 'members [5]');
  bad(await post('/chat/conversations', { title: 't', context: 'x' }), 'context "x"');
  bad(await post('/notifications', { title: 't', target: { kind: 5 } }), 'target.kind 5');
  bad(await post('/notifications', { title: 't', target: { kind: 'user', id: 5 } }), 'target.id 5');
  bad(await post('/notifications', { title: 't', target: { kind: 'user', id: 'bob' }, action: { label: 1, link: 'app:x' } }), 'action.label 1');
  const a = await fetch(`${stub.base}/auth/dev-login`, { method: 'POST', body: '{"userId":5}' });
  assert.equal(a.status, 400);
});

test('attachments: url must be a /blobs/ link or https; other types are 400', async () => {
  const reply = (attachment, i) => post('/chat/reply', { conversationId: 'demo', message: 'att', clientMessageId: `att-${i}`, attachment });
  let i = 0;
  for (const att of [{ url: 5 }, { url: 'javascript:alert(1)' }, { url: 'JAVASCRIPT:alert(1)' }, { url: ' javascript:alert(1)' },
    { url: 'data:text/html,<script>alert(1)</script>' }, { url: 'http://evil.example/x.png' }, { url: '//evil.example/x.png' },
    { url: 'vbscript:x' }, { url: '/chat/reply' }, { url: 'blobs/x' }, { url: '' }, { url: null }, { url: ['/blobs/x'] },
    { url: '/blobs/../chat/reply' }, { url: '/blobs//evil.example/x' }, { url: '/blobs/%2e%2e/x' }, { url: '/blobs/' },
    { url: 'https://evil.example@x/' }, { url: 'https://' },
    { url: '/blobs/x', name: 5 }, { url: '/blobs/x', size: 'big' }, { url: '/blobs/x', contentType: {} },
    'x', 5, ['/blobs/x'], true]) {
    bad(await reply(att, ++i), `attachment ${JSON.stringify(att)}`);
  }
  const up = await fetch(`${stub.base}/blobs?name=a.txt`, { method: 'POST', headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'text/plain' }, body: 'abc' });
  assert.equal(up.status, 201);
  const blob = await up.json();
  for (const att of [{ url: blob.url, name: 'a.txt', size: 3, contentType: 'text/plain' }, { url: 'https://files.example/a.png' }]) {
    const r = await reply(att, ++i);
    assert.equal(r.status, 201, `${JSON.stringify(att)}: ${r.status} ${r.text}`);
  }
});

test('whole bodies that are not objects answer 400 on every JSON route', async () => {
  const routes = ['/realtime/clientAccessUrl', '/chat/conversations', '/chat/reply', '/chat/read', '/notifications', '/notifications/read',
    '/notifications/seen', '/notifications/archive'];
  for (const p of routes) {
    for (const body of ['[]', '"x"', '1', 'null', 'true', '[{"conversationId":"demo"}]', '', '{', '{"a":1}{"b":2}', '\u0000']) {
      bad(await post(p, body), `POST ${p} ${JSON.stringify(body)}`);
    }
  }
  for (const body of ['[]', '"x"', '1', 'null', 'true']) {
    const r = await fetch(`${stub.base}/auth/dev-login`, { method: 'POST', body });
    assert.equal(r.status, 400, `dev-login ${body}`);
  }
});

// Sweep: every authenticated route, a valid body with one field replaced by each wrong value.
const WRONG = [1, -1, 1.5, 1e300, 18446744073709551616, '', 'x', 'x'.repeat(5000), true, false, null, [], {}, [1], ['x'], { a: 1 }, [[[]]], '\u0000', '\ud800'];
const ROUTES = [
  ['/realtime/clientAccessUrl', { hubName: 'chat', groupName: 'conversation:demo', groups: ['conversation:demo'] }, ['hubName', 'groupName', 'groups']],
  ['/chat/conversations', { title: 't', members: ['bob'], context: { kind: 'x' } }, ['title', 'members', 'context']],
  ['/chat/reply', { conversationId: 'demo', message: 'm', clientMessageId: 'c', attachment: { url: '/blobs/x', name: 'n', size: 1, contentType: 'text/plain' } },
    ['conversationId', 'message', 'clientMessageId', 'attachment', 'attachment.url', 'attachment.name', 'attachment.size', 'attachment.contentType']],
  ['/chat/read', { conversationId: 'demo', seq: 1 }, ['conversationId', 'seq']],
  ['/notifications', { id: 'sweep', title: 't', body: 'b', target: { kind: 'user', id: 'alice' }, action: { label: 'l', link: 'app:x' } },
    ['id', 'title', 'body', 'target', 'target.kind', 'target.id', 'action', 'action.label', 'action.link']],
  ['/notifications/read', { ids: ['welcome'], all: false }, ['ids', 'all']],
  ['/notifications/seen', { ids: ['welcome'], all: false }, ['ids', 'all']],
  ['/notifications/archive', { ids: ['x'], all: false }, ['ids', 'all']],
  ['/auth/dev-login', { userId: 'alice' }, ['userId']],
];
function withField(base, field, value) {
  const body = structuredClone(base);
  const [a, b] = field.split('.');
  if (b === undefined) body[a] = value;
  else body[a][b] = value;
  return body;
}

test('sweep: no wrong-typed field on any route gives a 500 or takes the server down', async () => {
  const failures = [];
  let n = 0;
  for (const [p, base, fields] of ROUTES) {
    for (const field of fields) {
      for (const value of WRONG) {
        const body = withField(base, field, value);
        if (p === '/notifications' && body.id === 'sweep') body.id = `sweep-${++n}`;
        if (p === '/chat/reply' && body.clientMessageId === 'c') body.clientMessageId = `sweep-${++n}`;
        const r = await post(p, body);
        if (r.status >= 500) failures.push(`${p} ${field}=${JSON.stringify(value)?.slice(0, 30)}: ${r.status} ${r.text.slice(0, 100)}`);
        if (r.status === 400 && typeof r.json?.error?.message !== 'string') failures.push(`${p} ${field}: 400 without a reason`);
      }
    }
    // The same bodies through the backend's notification path.
    if (p === '/notifications') {
      for (const field of fields) {
        for (const value of WRONG) {
          const r = await stubApi(stub, 'POST', '/_stub/notifications', { ...withField(base, field, value), id: `stub-sweep-${++n}` });
          if (r.status >= 500) failures.push(`/_stub/notifications ${field}=${JSON.stringify(value)?.slice(0, 30)}: ${r.status}`);
        }
      }
    }
  }
  // Query parameters of the GET routes and the stub API.
  for (const q of ['/conversation/detail?conversationId=demo&limit=abc', '/conversation/detail?conversationId=demo&afterSeq=1e3',
    '/conversation/detail?conversationId=demo&beforeSeq=99999999999999999999', '/conversation/detail?conversationId=',
    '/notifications?cursor=abc', '/notifications?limit=-1', '/notifications?limit=99999999999999999999999', '/notifications?archived=maybe']) {
    const r = await api(stub.base, alice, 'GET', q);
    if (r.status >= 500) failures.push(`GET ${q}: ${r.status}`);
  }
  for (const q of ['/_stub/outbox?failNext=abc', '/_stub/outbox?failNext=99999999999999999999', '/_stub/outbox?delayNext=abc',
    '/_stub/outbox?delayNext=1&delayMs=abc', '/_stub/outbox?pause=maybe', '/_stub/drop', '/_stub/close?userId=']) {
    const r = await stubApi(stub, 'POST', q);
    if (r.status >= 500) failures.push(`POST ${q}: ${r.status}`);
  }
  assert.ok(await healthy(stub), 'still serving');
  assert.equal(failures.length, 0, `${failures.length} requests failed:\n${failures.slice(0, 30).join('\n')}`);
});

test('POST /_stub/outbox?failNext=abc is a 400, not a 500', async () => {
  const r = await stubApi(stub, 'POST', '/_stub/outbox?failNext=abc');
  assert.equal(r.status, 400, r.text);
  assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?failNext=0')).status, 200);
});

test('conversation limits: title <= 200 bytes, context <= 4096 bytes serialized, at most 100 members', async () => {
  const s = await startStub({ args: ['--create-rate', '0'] });
  try {
    const a = await login(s.base, 'alice');
    const make = (body) => api(s.base, a, 'POST', '/chat/conversations', body);
    assert.equal((await make({ title: 'x'.repeat(200) })).status, 201);
    assert.equal((await make({ title: '\u00e9'.repeat(100) })).status, 201, '200 bytes of UTF-8');
    assert.equal((await make({ title: 'x'.repeat(201) })).status, 400);
    assert.equal((await make({ title: '\u00e9'.repeat(101) })).status, 400, '202 bytes of UTF-8');
    assert.equal((await make({ title: '' })).status, 400);
    assert.equal((await make({ title: 'ctx', context: { note: 'a'.repeat(4000) } })).status, 201, 'context of 4011 bytes');
    const over = await make({ title: 'ctx', context: { note: 'a'.repeat(4100) } });
    assert.ok(over.status === 400 || over.status === 413, `context of 4111 bytes: ${over.status}`);
    const huge = await make({ title: 'ctx', context: { note: 'a'.repeat(900 * 1024) } });
    assert.ok(huge.status === 400 || huge.status === 413, `context of 900 KB: ${huge.status}`);
    const manyKeys = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
    const keys = await make({ title: 'ctx', context: manyKeys });
    assert.ok(keys.status === 400 || keys.status === 413, `context of 2000 keys: ${keys.status}`);
    assert.equal((await make({ title: 'm', members: Array(100).fill('bob') })).status, 201, '100 member entries');
    const tooMany = await make({ title: 'm', members: Array(101).fill('bob') });
    assert.equal(tooMany.status, 400, `101 members: ${tooMany.status}`);
    const flood = await make({ title: 'm', members: Array(200000).fill('bob') });
    assert.ok(flood.status === 400 || flood.status === 413, `200,000 members: ${flood.status}`);
    // Nothing over the limits was stored.
    const list = (await api(s.base, a, 'GET', '/chat/conversations')).json.conversations;
    assert.ok(list.every((c) => Buffer.byteLength(c.title) <= 200 && JSON.stringify(c.context).length <= 4096 && c.members.length <= 100));
  } finally { await s.stop(); }
});

test('conversation creation is rate-limited per user: 429 with Retry-After; --create-rate 0 is unlimited', async () => {
  const limited = await startStub({ args: ['--create-rate', '1'] });
  try {
    const [a, b] = await Promise.all([login(limited.base, 'alice'), login(limited.base, 'bob')]);
    const statuses = [];
    let hit;
    for (let i = 0; i < 20 && !hit; i++) {
      const r = await fetch(`${limited.base}/chat/conversations`, { method: 'POST', headers: { Authorization: `Bearer ${a}` }, body: JSON.stringify({ title: `c${i}` }) });
      statuses.push(r.status);
      if (r.status === 429) hit = r;
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(201), `a burst of 10: ${statuses}`);
    assert.ok(hit, `then 429: ${statuses}`);
    assert.ok(Number(hit.headers.get('retry-after')) >= 1);
    assert.equal((await api(limited.base, b, 'POST', '/chat/conversations', { title: 'bob' })).status, 201, 'bob is not limited');
  } finally { await limited.stop(); }
  const byDefault = await startStub();
  try {
    const a = await login(byDefault.base, 'alice');
    const statuses = [];
    for (let i = 0; i < 15; i++) statuses.push((await api(byDefault.base, a, 'POST', '/chat/conversations', { title: `d${i}` })).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(201), `default burst: ${statuses}`);
    assert.ok(statuses.slice(10).includes(429), `default rate: ${statuses}`);
  } finally { await byDefault.stop(); }
  const unlimited = await startStub({ args: ['--create-rate', '0'] });
  try {
    const a = await login(unlimited.base, 'alice');
    for (let i = 0; i < 30; i++) assert.equal((await api(unlimited.base, a, 'POST', '/chat/conversations', { title: `u${i}` })).status, 201, `creation ${i}`);
  } finally { await unlimited.stop(); }
});

test('REST :generateToken with a NUL or an oversized value in userId, role or group is a 400, not a 500', async () => {
  for (const q of ['userId=a%00b', 'role=webpubsub.joinLeaveGroup%00x', 'group=g%00', `userId=${'u'.repeat(2000)}`]) {
    const r = await rest(stub, 'POST', `/api/hubs/chat/:generateToken?${q}`);
    bad(r, q.slice(0, 40));
  }
  const ok = await rest(stub, 'POST', '/api/hubs/chat/:generateToken?userId=alice&group=g');
  assert.equal(ok.status, 200);
});

// PostgreSQL's text cannot hold U+0000 (PgStore refuses it): every store answers 400 with a
// reason at validation, never 500, wherever the text comes from (the PostgreSQL side is checked
// in tests/integration/multi_instance.test.mjs).
test('text with a NUL character answers 400 with a reason', async () => {
  const nul = (r, what) => { bad(r, what); assert.match(r.json.error.message, /NUL/, what); };
  nul(await post('/chat/reply', { conversationId: 'demo', message: 'a\u0000b', clientMessageId: 'nul-1' }), 'message');
  nul(await post('/chat/reply', { conversationId: 'demo', message: 'ok', clientMessageId: 'nul\u0000' }), 'clientMessageId');
  nul(await post('/chat/reply', { conversationId: 'de\u0000mo', message: 'ok' }), 'conversationId');
  nul(await post('/chat/conversations', { title: 't\u0000', members: ['bob'] }), 'title');
  nul(await post('/chat/conversations', { title: 't', context: { k: ['v\u0000'] } }), 'nested context value');
  nul(await post('/chat/conversations', { title: 't', context: { 'k\u0000': 1 } }), 'context key');
  nul(await api(stub.base, null, 'POST', '/auth/dev-login', { userId: 'alice\u0000x' }), 'dev-login userId');
  nul(await api(stub.base, alice, 'GET', '/conversation/detail?conversationId=demo%00x'), 'query parameter');
  // Nothing was stored.
  const history = await api(stub.base, alice, 'GET', '/conversation/detail?conversationId=demo&limit=200');
  assert.ok(!history.json.messages.some((m) => m.text.includes('\u0000') || m.clientMessageId?.startsWith('nul')));
});
