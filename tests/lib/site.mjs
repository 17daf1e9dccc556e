// The files a page load of the built site fetches, read from the site itself: index.html, the
// config, and the content-hashed JS, wasm and font data it names (cmake/finish_site.py).
import { readFileSync } from 'node:fs';
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
