// The files a page load of the built site fetches, read from the site itself: index.html, the
// config, and the content-hashed JS, wasm and font data it names (cmake/finish_site.py).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';

export function siteLoad(dir) {
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const script = html.match(/<script async type="text\/javascript" src="(index\.[0-9a-f]{12}\.js)"><\/script>/);
  if (!script) throw new Error(`${dir}/index.html loads no content-hashed index.<hash>.js`);
  const js = readFileSync(path.join(dir, script[1]), 'utf8');
  const wasm = js.match(/wasmBinaryFile="(index\.[0-9a-f]{12}\.wasm)"/);
  const data = js.match(/REMOTE_PACKAGE_BASE="(index\.[0-9a-f]{12}\.data)"/);
  if (!wasm || !data) throw new Error(`${script[1]} names no content-hashed wasm and data`);
  return { html, js: script[1], wasm: wasm[1], data: data[1], files: ['index.html', 'config.json', script[1], wasm[1], data[1]] };
}

// A plain static file host for `dir` on 127.0.0.1 (as GitHub Pages or a bucket would be): GET and
// HEAD of its files with their types, 404 for anything else. `served` lists every request it got
// ("METHOD /path"). Resolves to { origin (http://localhost:port), served, close() }.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.data': 'application/octet-stream' };
export async function serveStatic(dir) {
  const served = [];
  const host = createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    served.push(`${req.method} ${p}`);
    const file = path.join(dir, p === '/' ? 'index.html' : path.normalize(p).replace(/^(\.\.[/\\])+/, ''));
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new Error('a static host serves files only');
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
    } catch { res.writeHead(404); res.end(); }
  });
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
  return { origin: `http://localhost:${host.address().port}`, served, close: () => host.close() };
}
