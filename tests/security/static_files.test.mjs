// Static files: encoded traversal, NUL, backslashes, /proc and /dev/zero, symlinks, directories and
// FIFOs. The stub serves a temporary copy of the site; a marker file sits next to that copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, rawRequest, healthy, SITE_DIR, ACCESS_KEY } from '../lib/stub.mjs';

let stub;
let dir;
const marker = `outside-marker-${randomBytes(12).toString('hex')}`;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-static-'));
  const site = path.join(dir, 'site');
  cpSync(SITE_DIR, site, { recursive: true });
  writeFileSync(path.join(dir, 'outside.txt'), marker);
  mkdirSync(path.join(dir, 'secret-dir'));
  writeFileSync(path.join(dir, 'secret-dir', 'inner.txt'), marker);
  symlinkSync(path.join(dir, 'outside.txt'), path.join(site, 'evil-link.txt'));
  symlinkSync('../outside.txt', path.join(site, 'evil-relative-link.txt'));
  symlinkSync('/etc/passwd', path.join(site, 'passwd.txt'));
  symlinkSync(path.join(dir, 'secret-dir'), path.join(site, 'evil-dir'));
  mkdirSync(path.join(site, 'plain-dir'));
  writeFileSync(path.join(site, 'plain-dir', 'ok.txt'), 'inside');
  execFileSync('mkfifo', [path.join(site, 'fifo.txt')]);
  // Safety net for the run against an unfixed server: reading /dev/zero must fail, not eat the machine.
  stub = await startStub({ staticDir: site, shell: 'ulimit -v 3000000' });
});
after(async () => {
  await stub?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const up = (n, sep = '%2F', dots = '..') => `${dots}${sep}`.repeat(n);
const TRAVERSALS = [
  '/..%2Foutside.txt',
  '/..%2foutside.txt',
  '/%2E%2E%2Foutside.txt',
  '/%2e%2e%2foutside.txt',
  '/%2e%2e/outside.txt',
  '/.%2E/outside.txt',
  '/../outside.txt',
  '/plain-dir/..%2F..%2Foutside.txt',
  '/plain-dir/%2E%2E/%2E%2E/outside.txt',
  `/${up(12)}etc%2Fpasswd`,
  `/${up(12, '%2F', '%2E%2E')}etc%2Fpasswd`,
  `/${up(12, '%2f', '%2e%2e')}etc%2fpasswd`,
  '/..%5Coutside.txt',
  '/..%5coutside.txt',
  `/${up(12, '%5c')}etc%5cpasswd`,
  '/..\\outside.txt',
  '/%2F%2Fetc%2Fpasswd',
  '/%2Fetc%2Fpasswd',
  '//etc/passwd',
  '/%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
  '/..%2Foutside.txt%00',
  '/..%2Foutside.txt%00.png',
  '/index.html%00',
  '/%00',
  '/%00/../outside.txt',
  '/proc/self/cmdline',
  '/proc/self/environ',
  `/${up(12)}proc%2Fself%2Fcmdline`,
  `/${up(12, '%2F', '%2E%2E')}proc%2Fself%2Fenviron`,
  `/${up(12, '%5c')}proc%5cself%5ccmdline`,
  '/%252e%252e%252foutside.txt',
  '/..%252Foutside.txt',
  '/%C0%AE%C0%AE%2Foutside.txt',
  '/evil-link.txt',
  '/evil-relative-link.txt',
  '/passwd.txt',
  '/evil-dir/inner.txt',
  '/evil-dir',
  '/plain-dir',
  '/plain-dir/',
];

test('control: the site is served and the marker file exists outside it', async () => {
  assert.equal(readFileSync(path.join(dir, 'outside.txt'), 'utf8'), marker);
  const index = await rawRequest(stub, { path: '/' });
  assert.equal(index.status, 200);
  assert.match(index.text, /<html|<!doctype/i);
  const inside = await rawRequest(stub, { path: '/plain-dir/ok.txt' });
  assert.equal(inside.status, 200);
  assert.equal(inside.text, 'inside');
});

test('traversal, NUL, backslash, /proc, symlinks out of the site, directories and FIFOs: 400 or 404, nothing from outside', async () => {
  for (const method of ['GET', 'HEAD']) {
    for (const p of TRAVERSALS) {
      let r;
      try { r = await rawRequest(stub, { method, path: p, timeout: 10000 }); } catch (e) { r = { status: 0, text: String(e) }; }
      assert.ok(r.status === 400 || r.status === 404, `${method} ${p}: status ${r.status} ${r.text?.slice(0, 120)}`);
      assert.ok(!r.text.includes(marker), `${method} ${p}: served the marker from outside the site`);
      assert.ok(!/root:.*:0:0:/.test(r.text), `${method} ${p}: served /etc/passwd`);
      assert.ok(!r.text.includes(ACCESS_KEY), `${method} ${p}: served the command line or environment`);
    }
  }
  assert.ok(await healthy(stub), 'still serving');
});

test('/dev/zero through an encoded traversal is refused quickly and the server stays up', async () => {
  for (const p of [`/${up(12)}dev%2Fzero`, `/${up(12, '%2F', '%2E%2E')}dev%2Furandom`, '/dev/zero', `/${up(12, '%5c')}dev%5czero`]) {
    const started = Date.now();
    let r;
    try { r = await rawRequest(stub, { path: p, timeout: 30000 }); } catch (e) { r = { status: 0, text: String(e) }; }
    const ms = Date.now() - started;
    assert.ok(r.status === 400 || r.status === 404, `${p}: status ${r.status} ${r.text?.slice(0, 120)}`);
    assert.ok(ms < 5000, `${p}: answered after ${ms} ms`);
  }
  assert.ok(await healthy(stub), 'still serving');
  const index = await rawRequest(stub, { path: '/index.html' });
  assert.equal(index.status, 200);
});

// Last: against an unfixed server, opening a FIFO blocks the io thread for good.
test('a FIFO inside the site is not a regular file: 404 at once, the server keeps serving', async () => {
  let r;
  try { r = await rawRequest(stub, { path: '/fifo.txt', timeout: 10000 }); } catch (e) { r = { status: 0, text: String(e) }; }
  assert.ok(r.status === 400 || r.status === 404, `/fifo.txt: ${r.status} ${r.text?.slice(0, 120)}`);
  assert.ok(await healthy(stub), 'still serving');
});
