// Uploads: names with control characters (header injection), active content served from our
// origin (HTML, SVG, XHTML, JavaScript, HTML declared as PNG), per-user rate and quota.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, rawRequest } from '../lib/stub.mjs';
import { tinyPng } from '../lib/files.mjs';

let stub;
let alice;
let bob;
before(async () => {
  stub = await startStub({ args: ['--upload-rate', '0'] });
  [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => login(stub.base, u)));
});
after(async () => { await stub?.stop(); });

// Every response of this suite goes through here: none may set a cookie.
function noCookie(r, what) {
  const names = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) names.push(r.rawHeaders[i].toLowerCase());
  assert.ok(!names.includes('set-cookie'), `${what}: Set-Cookie in the response (${r.rawHeaders.join(' | ')})`);
}

async function upload(s, token, name, type, bytes, { rawName = false } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (type !== undefined) headers['Content-Type'] = type;
  const r = await rawRequest(s, { method: 'POST', path: `/blobs?name=${rawName ? name : encodeURIComponent(name)}`, headers, body: bytes });
  noCookie(r, `upload ${JSON.stringify(name)}`);
  return r;
}

async function download(s, url) {
  const r = await rawRequest(s, { path: url });
  noCookie(r, `download ${url}`);
  assert.equal(r.status, 200, `download ${url}: ${r.status}`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `nosniff on ${url}`);
  assert.match(r.headers['content-security-policy'] || '', /sandbox/, `CSP sandbox on ${url}`);
  return r;
}

test('names with CR, LF or other control characters are refused (no header injection)', async () => {
  for (const name of ['a\r\nSet-Cookie: stolen=1', 'a\nSet-Cookie: x=1', 'a\rb', 'a\0.png', 'a\tb.txt', 'a\x1b[31m.txt', 'a\x7f.txt',
    'x.html"\r\nContent-Type: text/html']) {
    const r = await upload(stub, alice, name, 'text/plain', Buffer.from('hello'));
    assert.equal(r.status, 400, `name ${JSON.stringify(name)}: ${r.status} ${r.text}`);
  }
  // Raw (unencoded) percent escapes in the query decode to the same control characters.
  for (const raw of ['a%0d%0aSet-Cookie:%20x=1', 'a%0AX-Injected:%201', 'a%00b']) {
    const r = await upload(stub, alice, raw, 'text/plain', Buffer.from('hello'), { rawName: true });
    assert.equal(r.status, 400, `name ${raw}: ${r.status}`);
  }
  // Quotes and non-ASCII in an otherwise valid name never break the Content-Disposition header.
  for (const name of ['quote".txt', 'naïve résumé.txt', 'semi;colon.txt', 'back\\slash.txt']) {
    const up = await upload(stub, alice, name, 'text/plain', Buffer.from('ok'));
    if (up.status !== 201) { assert.equal(up.status, 400, `${name}: ${up.status}`); continue; }
    const d = await download(stub, up.json.url);
    assert.equal(d.body.toString(), 'ok');
    const cd = d.headers['content-disposition'] || '';
    assert.ok(!/[\r\n]/.test(cd));
    assert.equal(Object.keys(d.headers).filter((h) => h.startsWith('x-injected')).length, 0);
  }
});

test('active content (HTML, SVG, XHTML, JavaScript) is served as an octet-stream attachment', async () => {
  const html = Buffer.from('<!doctype html><html><body><script>fetch("/me")</script></body></html>');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
  const cases = [
    ['page.html', 'text/html', html],
    ['page.html', 'text/html; charset=utf-8', html],
    ['page.htm', 'TEXT/HTML', html],
    ['pic.svg', 'image/svg+xml', svg],
    ['page.xhtml', 'application/xhtml+xml', html],
    ['app.js', 'text/javascript', Buffer.from('alert(1)')],
    ['app.js', 'application/javascript', Buffer.from('alert(1)')],
    ['page.xml', 'text/xml', svg],
    ['fake.png', 'image/png', html],
    ['fake.gif', 'image/gif', html],
    ['untyped', undefined, html],
  ];
  for (const [name, type, bytes] of cases) {
    const up = await upload(stub, alice, name, type, bytes);
    assert.equal(up.status, 201, `${name} ${type}: ${up.text}`);
    assert.equal(up.json.contentType, 'application/octet-stream', `${name} declared ${type}: the upload answer names the served type`);
    const d = await download(stub, up.json.url);
    assert.equal(d.headers['content-type'], 'application/octet-stream', `${name} declared ${type}`);
    assert.match(d.headers['content-disposition'] || '', /^attachment(;|$)/, `${name} declared ${type}: ${d.headers['content-disposition']}`);
    assert.deepEqual(d.body, bytes);
  }
});

test('a real PNG is served inline as image/png, with nosniff and a sandbox CSP', async () => {
  const png = tinyPng(2, 2);
  const up = await upload(stub, alice, 'real.png', 'image/png', png);
  assert.equal(up.status, 201);
  assert.equal(up.json.contentType, 'image/png');
  const d = await download(stub, up.json.url);
  assert.equal(d.headers['content-type'], 'image/png');
  assert.match(d.headers['content-disposition'] || 'inline', /^inline/);
  assert.deepEqual(d.body, png);
  // HEAD and the error answers of the download route carry no cookie either.
  const bad = await rawRequest(stub, { path: up.json.url.replace(/sig=[^&]+/, 'sig=AAAA') });
  noCookie(bad, 'bad signature');
  assert.equal(bad.status, 403);
});

test('per-user upload rate: 429 with Retry-After once the burst is spent; others unaffected', async () => {
  const s = await startStub({ args: ['--upload-rate', '1'] });
  try {
    const [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    const statuses = [];
    let limited;
    for (let i = 0; i < 20 && !limited; i++) {
      const r = await upload(s, a, `f${i}.txt`, 'text/plain', Buffer.from(`file ${i}`));
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(201), `the burst of 10 goes through: ${statuses}`);
    assert.ok(limited, `then 429: ${statuses}`);
    assert.ok(Number(limited.headers['retry-after']) >= 1, `Retry-After: ${limited.headers['retry-after']}`);
    assert.equal((await upload(s, b, 'bob.txt', 'text/plain', Buffer.from('bob'))).status, 201, 'bob is not limited');
  } finally { await s.stop(); }
});

test('per-user quota: 413 with a reason naming the quota; other users unaffected', async () => {
  const s = await startStub({ args: ['--upload-rate', '0', '--blob-quota-bytes', '5000'] });
  try {
    const [a, b] = await Promise.all([login(s.base, 'alice'), login(s.base, 'bob')]);
    assert.equal((await upload(s, a, 'one.bin', 'application/octet-stream', Buffer.alloc(2000, 1))).status, 201);
    assert.equal((await upload(s, a, 'two.bin', 'application/octet-stream', Buffer.alloc(2000, 2))).status, 201);
    const over = await upload(s, a, 'three.bin', 'application/octet-stream', Buffer.alloc(2000, 3));
    assert.equal(over.status, 413, over.text);
    assert.match(over.json?.error?.message || '', /quota/i);
    assert.equal((await upload(s, b, 'bob.bin', 'application/octet-stream', Buffer.alloc(2000, 4))).status, 201);
  } finally { await s.stop(); }
});

test('default quota is 100 MiB: a user cannot store more than that', async () => {
  const s = await startStub({ args: ['--upload-rate', '0'] });
  try {
    const a = await login(s.base, 'alice');
    const chunk = Buffer.alloc(5 * 1024 * 1024 - 1, 7);  // under the default 5 MiB file limit
    let status = 0;
    let stored = 0;
    for (let i = 0; i < 25; i++) {
      const r = await upload(s, a, `big${i}.bin`, 'application/octet-stream', chunk);
      status = r.status;
      if (status !== 201) break;
      stored += chunk.length;
    }
    assert.equal(status, 413, `after ${stored} bytes`);
    assert.ok(stored <= 104857600, `stored ${stored} bytes`);
    assert.ok(stored >= 104857600 - 2 * chunk.length, `stopped early at ${stored} bytes`);
  } finally { await s.stop(); }
});

// Links expire (--blob-url-ttl), the history does not: a message's link is signed when the message
// is handed out, so an old message's file still opens for a member. Only a link this server
// signed is renewed: a made-up one naming someone else's file is refused when posted (it would
// otherwise come back signed) and never served.
test('attachment links: the history signs them anew once the upload-time link expired; a made-up link naming another user\'s file is refused', async () => {
  const s = await startStub({ args: ['--upload-rate', '0', '--blob-url-ttl', '1'] });
  try {
    const [a, b, c] = await Promise.all(['alice', 'bob', 'carol'].map((u) => login(s.base, u)));
    const up = await upload(s, a, 'plan.png', 'image/png', tinyPng());
    assert.equal(up.status, 201);
    const link = JSON.parse(String(up.body)).url;
    const post = (token, url, id) => fetch(`${s.base}/chat/reply`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ conversationId: 'demo', message: '', clientMessageId: id, attachment: { url, name: 'plan.png', size: 10, contentType: 'image/png' } }),
    });
    assert.equal((await post(a, link, 'l1')).status, 201);
    await new Promise((r) => setTimeout(r, 2200));
    const expired = await rawRequest(s, { path: link });
    assert.equal(expired.status, 403, 'the upload-time link expired');
    assert.match(String(expired.body), /expired/);
    const history = await (await fetch(`${s.base}/conversation/detail?conversationId=demo`, { headers: { Authorization: `Bearer ${b}` } })).json();
    const fresh = history.messages.find((m) => m.clientMessageId === 'l1').attachment.url;
    assert.notEqual(fresh, link);
    assert.equal(fresh.replace(/\?.*$/, ''), link.replace(/\?.*$/, ''));
    await download(s, fresh);  // bob, a member, opens alice's file from the history
    // The conversation's last message, as the list and the detail hand it out, is signed anew too.
    const list = await (await fetch(`${s.base}/chat/conversations`, { headers: { Authorization: `Bearer ${b}` } })).json();
    const last = list.conversations.find((c) => c.conversationId === 'demo').lastMessage;
    assert.equal(last.clientMessageId, 'l1');
    assert.notEqual(last.attachment.url, link, 'the list\'s last message carries a link signed now');
    await download(s, last.attachment.url);
    assert.notEqual(history.conversation.lastMessage.attachment.url, link, 'so does the detail\'s');
    await download(s, history.conversation.lastMessage.attachment.url);

    // An old link is no lasting access: carol re-posting alice's expired link is refused (the
    // history would renew it), alice re-posting her own is fine.
    const repost = await post(c, link, 'l3');
    assert.equal(repost.status, 400);
    assert.match((await repost.json()).error.message, /expired/);
    assert.equal((await post(a, link, 'l4')).status, 201);
    const now = (await (await fetch(`${s.base}/conversation/detail?conversationId=demo`, { headers: { Authorization: `Bearer ${c}` } })).json())
      .messages.find((m) => m.clientMessageId === 'l1').attachment.url;
    assert.equal((await post(c, now, 'l5')).status, 201, 'a valid link may be passed on');

    // Carol knows the file's id but not a signature: a link she makes up is refused.
    const id = link.match(/^\/blobs\/(blob_[0-9a-f]{20})\?/)[1];
    const made = `/blobs/${id}?exp=9999999999&sig=${'A'.repeat(43)}`;
    const refused = await post(c, made, 'l2');
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /not a link this server issued/);
    assert.equal((await rawRequest(s, { path: made })).status, 403);
  } finally { await s.stop(); }
});
