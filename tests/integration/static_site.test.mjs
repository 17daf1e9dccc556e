// The site as a good static host serves it: gzip when the client takes it (same bytes once
// unzipped), revalidation with ETag + If-None-Match -> 304, Vary: Accept-Encoding, a changed file
// gets a new ETag.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startStub, rawRequest } from '../lib/stub.mjs';

let stub;
let dir;
const js = 'console.log("hello");\n'.repeat(400);
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-site-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(dir, 'app.js'), js);
  writeFileSync(path.join(dir, 'logo.png'), Buffer.alloc(4096, 7));
  stub = await startStub({ staticDir: dir });
});
after(async () => { await stub?.stop(); rmSync(dir, { recursive: true, force: true }); });

const get = (p, headers = {}) => rawRequest(stub, { path: p, headers });

test('gzip when accepted, identity otherwise, the same bytes either way', async () => {
  const gz = await get('/app.js', { 'Accept-Encoding': 'br, gzip;q=0.8' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.ok(gz.body.length < js.length / 5, `compressed to ${gz.body.length} bytes`);
  assert.equal(gunzipSync(gz.body).toString(), js);
  for (const ae of [undefined, 'identity', 'gzip;q=0', 'br']) {
    const plain = await get('/app.js', ae ? { 'Accept-Encoding': ae } : {});
    assert.equal(plain.headers['content-encoding'], undefined, `Accept-Encoding: ${ae}`);
    assert.equal(plain.text, js);
  }
  // Not worth compressing: small files and images go as they are.
  assert.equal((await get('/logo.png', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'], undefined);
  assert.equal((await get('/index.html', { 'Accept-Encoding': 'gzip' })).headers['content-encoding'], undefined);
});

test('ETag revalidation: 304 for the same representation, 200 for another or a changed file', async () => {
  const first = await get('/app.js', { 'Accept-Encoding': 'gzip' });
  const tag = first.headers.etag;
  assert.match(tag, /^"[0-9a-f]+-[0-9a-f]+-gz"$/);
  assert.equal(first.headers['cache-control'], 'no-cache');
  const again = await get('/app.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': tag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const plain = await get('/app.js', { 'If-None-Match': tag });
  assert.equal(plain.status, 200, 'the identity representation has its own tag');
  assert.notEqual(plain.headers.etag, tag);
  writeFileSync(path.join(dir, 'app.js'), js + '// changed\n');
  const later = new Date(Date.now() + 5000);
  utimesSync(path.join(dir, 'app.js'), later, later);
  const changed = await get('/app.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': tag });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.etag, tag);
  assert.ok(gunzipSync(changed.body).toString().endsWith('// changed\n'));
});
