// The site as a good static host serves it: brotli or gzip when the client takes it (same bytes
// once decoded; precompressed variants when fresh), revalidation with ETag + If-None-Match -> 304,
// Vary: Accept-Encoding, a changed file gets a new ETag; content-hashed names cached a year as
// immutable. And the built site itself: hashed names that match their content, precompressed
// variants, and its transfer within a budget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, utimesSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, brotliDecompressSync, brotliCompressSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { startStub, rawRequest, SITE_DIR } from '../lib/stub.mjs';
import { siteLoad } from '../lib/site.mjs';

let stub;
let dir;
const js = 'console.log("hello");\n'.repeat(400);
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-site-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(dir, 'app.js'), js);
  writeFileSync(path.join(dir, 'logo.png'), Buffer.alloc(4096, 7));
  writeFileSync(path.join(dir, 'app.0123456789ab.js'), js);
  writeFileSync(path.join(dir, 'app.0123456789ab.js.br'), brotliCompressSync(js));
  writeFileSync(path.join(dir, 'app.0123456789ab.js.gz'), gzipSync(js));
  stub = await startStub({ staticDir: dir, args: ['--allow-origin', 'https://app.example'] });
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
  assert.match(tag, /^"[0-9a-f]+-[0-9a-f]+-gzip-[0-9a-f]{8}"$/);
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

test('brotli when preferred, from the precompressed variant; hashed names are immutable, others no-cache', async () => {
  const br = await get('/app.0123456789ab.js', { 'Accept-Encoding': 'gzip, deflate, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'Accept-Encoding');
  assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(brotliDecompressSync(br.body).toString(), js);
  const gz = await get('/app.0123456789ab.js', { 'Accept-Encoding': 'br;q=0.1, gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), js);
  assert.equal((await get('/app.0123456789ab.js', { 'Accept-Encoding': 'br;q=0, gzip;q=0' })).text, js);
  // app.js has no .br: brotli is not made on the fly, gzip is.
  assert.equal((await get('/app.js', { 'Accept-Encoding': 'br, gzip' })).headers['content-encoding'], 'gzip');
  assert.equal((await get('/index.html')).headers['cache-control'], 'no-cache');
  // A cross-origin request varies on both: a shared cache must not serve brotli to another client.
  const cors = await get('/app.0123456789ab.js', { 'Accept-Encoding': 'br', Origin: 'https://app.example' });
  assert.equal(cors.headers['access-control-allow-origin'], 'https://app.example');
  assert.equal(cors.headers.vary, 'Accept-Encoding, Origin');
});

test('a precompressed variant that does not decode to its file is not served', async () => {
  writeFileSync(path.join(dir, 'bad.0123456789ab.js'), js);
  writeFileSync(path.join(dir, 'bad.0123456789ab.js.br'), brotliCompressSync(js + 'tampered'));
  writeFileSync(path.join(dir, 'bad.0123456789ab.js.gz'), Buffer.alloc(0));
  const r = await get('/bad.0123456789ab.js', { 'Accept-Encoding': 'br, gzip' });
  assert.equal(r.headers['content-encoding'], 'gzip', 'gzip made from the file instead');
  assert.equal(gunzipSync(r.body).toString(), js);
});

test('the built site: content-hashed names that match their content, fresh variants, transfer within budget', async () => {
  const site = await startStub({ staticDir: SITE_DIR });
  try {
    const { html, js: script, wasm, data, files: load } = siteLoad(SITE_DIR);
    for (const name of [wasm, data]) assert.match(html, new RegExp(`<link rel="preload" href="${name.replace(/\./g, '\\.')}" as="fetch"`));
    // Exactly one build's files: no index.js / index.wasm left, no older hashed names.
    const files = readdirSync(SITE_DIR);
    assert.deepEqual(files.filter((f) => /^index\.(js|wasm|data)$/.test(f)), []);
    assert.deepEqual(files.filter((f) => /^index\.[0-9a-f]{12}\.(js|wasm|data)$/.test(f)).sort(), [script, wasm, data].sort());
    let br = 0;
    let gz = 0;
    for (const name of load) {
      const bytes = readFileSync(path.join(SITE_DIR, name));
      const hashed = name !== 'index.html' && name !== 'config.json';
      if (hashed) assert.equal(createHash('sha256').update(bytes).digest('hex').slice(0, 12), name.split('.')[1], `${name} is named by its content`);
      const b = await rawRequest(site, { path: '/' + name, headers: { 'Accept-Encoding': 'br' } });
      const g = await rawRequest(site, { path: '/' + name, headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(b.status, 200);
      assert.equal(b.headers['cache-control'], hashed ? 'public, max-age=31536000, immutable' : 'no-cache', name);
      if (hashed) {
        assert.equal(b.headers['content-encoding'], 'br', name);
        assert.ok(brotliDecompressSync(b.body).equals(bytes), `${name}: the .br variant is this build's`);
        assert.ok(gunzipSync(g.body).equals(bytes), `${name}: the .gz variant is this build's`);
      }
      br += b.body.length;
      gz += g.body.length;
    }
    console.log(`site transfer: ${(gz / 1024).toFixed(1)} KiB gzip, ${(br / 1024).toFixed(1)} KiB brotli (${load.join(', ')})`);
    // Issue 14's target is 200 KB gzip, not met yet (docs/BENCHMARKS.md: 311 KB); this guards
    // what was reached, so a change that grows the page fails here.
    assert.ok(gz <= 320000, `the page's transfer is at most 320 KB gzip: ${gz} bytes`);
    assert.ok(br < gz, 'brotli is smaller');
  } finally {
    await site.stop();
  }
});
