// The peer page's site for the browser benchmarks (tti.mjs, ingest.mjs): a copy of the built site
// with bench/peer_page beside it (peer.html, and peer.js: the page and the official
// @azure/web-pubsub-client bundled and minified with esbuild), in a folder of its own on /dev/shm,
// so one stub serves both pages from one origin.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SITE_DIR } from '../tests/lib/stub.mjs';

const here = import.meta.dirname;
const tests = path.resolve(here, '../tests');

export function peerSite(prefix) {
  const work = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `${prefix}-`));
  const site = path.join(work, 'site');
  cpSync(SITE_DIR, site, { recursive: true, preserveTimestamps: true });
  cpSync(path.join(here, 'peer_page/index.html'), path.join(site, 'peer.html'));
  const bundle = spawnSync(path.join(tests, 'node_modules/.bin/esbuild'),
    [path.join(here, 'peer_page/app.mjs'), '--bundle', '--minify', '--format=esm', '--platform=browser', '--target=es2022',
      `--outfile=${path.join(site, 'peer.js')}`], { env: { ...process.env, NODE_PATH: path.join(tests, 'node_modules') }, encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`esbuild failed: ${bundle.stderr}`);
  return { work, site, remove: () => rmSync(work, { recursive: true, force: true }) };
}
