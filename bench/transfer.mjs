// Issue 14, target 2: what a cold page load of the built site transfers, per file and in all,
// with brotli, gzip and none (as the stub serves it: precompressed variants by Accept-Encoding),
// and how a repeat load goes (hashed names are immutable: only index.html and config.json are
// asked again, and answered 304). Run from tests/: node ../bench/transfer.mjs
import { startStub, rawRequest, SITE_DIR } from '../tests/lib/stub.mjs';
import { siteLoad } from '../tests/lib/site.mjs';
import { report } from './report.mjs';

const stub = await startStub({ staticDir: SITE_DIR });
try {
  const { files } = siteLoad(SITE_DIR);
  const rows = [];
  const total = { br: 0, gzip: 0, identity: 0 };
  let revalidated = 0;
  let cachedForAYear = 0;
  for (const name of files) {
    const row = { name };
    for (const enc of ['br', 'gzip', 'identity']) {
      const r = await rawRequest(stub, { path: '/' + name, headers: { 'Accept-Encoding': enc } });
      if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status}`);
      row[enc] = r.body.length;
      total[enc] += r.body.length;
      if (enc === 'br') {
        if (/immutable/.test(r.headers['cache-control'] || '')) cachedForAYear++;
        else {
          const again = await rawRequest(stub, { path: '/' + name, headers: { 'Accept-Encoding': enc, 'If-None-Match': r.headers.etag } });
          if (again.status === 304) revalidated++;
        }
      }
    }
    rows.push(row);
  }
  const kb = (n) => (n / 1000).toFixed(1).padStart(8);
  console.log('file                              brotli KB   gzip KB   none KB');
  for (const r of rows) console.log(`${r.name.padEnd(32)} ${kb(r.br)}  ${kb(r.gzip)}  ${kb(r.identity)}`);
  console.log(`${'cold load, in all'.padEnd(32)} ${kb(total.br)}  ${kb(total.gzip)}  ${kb(total.identity)}`);
  console.log(`target: at most 200 KB gzip; ratio ${(total.gzip / 200000).toFixed(2)}x the target`);
  report({ target: '2', figure: 'cold load, gzip', ours: total.gzip / 1000, peer: 200, unit: 'KB', ratio: total.gzip / 200000, goal: ['<=', 1] });
  console.log(`repeat load: ${cachedForAYear} of ${files.length} files cached for a year as immutable (not asked again); ${revalidated} revalidated with 304`);
} finally {
  await stub.stop();
}
