#!/usr/bin/env python3
"""Finishes the web client's static site after each link (src/app/CMakeLists.txt, POST_BUILD).

1. Content-hashed names: emcc writes index.js, index.wasm and index.data. Each is renamed to
   index.<hash>.<ext> (the first 12 hex digits of its SHA-256), the JS is pointed at the new wasm
   and data names before its own hash is taken, and index.html at the JS (plus a preload of the
   wasm and the data, so they download while the JS is parsed). A file whose name carries its
   content's hash never changes, so hosts (and the stub, static_site.cpp) may cache it for a year
   as immutable; index.html and config.json stay revalidated on every load (no-cache).
2. Precompressed variants: <file>.gz (gzip -9) and <file>.br (brotli, quality 11) next to each
   hashed file, for hosts that serve them by Accept-Encoding (nginx gzip_static/brotli_static, the
   stub). index.html and config.json get none: a demo host edits them in place, and a stale
   variant would win over the edit on such hosts.

Old hashed files and variants of earlier builds are removed first, so the folder holds exactly one
build. Usage: finish_site.py SITE_DIR
"""
import gzip
import hashlib
import os
import re
import sys

import brotli  # Debian's python3-brotli (scripts/setup)

HASHED = re.compile(r"^index\.[0-9a-f]{12}\.(js|wasm|data)(\.gz|\.br)?$")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def replace_once(text: str, old: str, new: str, min_count: int = 1) -> str:
    count = text.count(old)
    if count < min_count:
        sys.exit(f"finish_site: expected {old!r} at least {min_count} time(s), found {count}")
    return text.replace(old, new)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    site = sys.argv[1]
    for name in os.listdir(site):
        if HASHED.match(name):
            os.remove(os.path.join(site, name))

    def read(name: str) -> bytes:
        with open(os.path.join(site, name), "rb") as f:
            return f.read()

    wasm, data = read("index.wasm"), read("index.data")
    wasm_name, data_name = f"index.{digest(wasm)}.wasm", f"index.{digest(data)}.data"
    js = read("index.js").decode("utf-8")
    # emcc 3.1.6: wasmBinaryFile="index.wasm"; the file packager's REMOTE_PACKAGE_BASE="index.data".
    js = replace_once(js, 'wasmBinaryFile="index.wasm"', f'wasmBinaryFile="{wasm_name}"')
    js = replace_once(js, 'REMOTE_PACKAGE_BASE="index.data"', f'REMOTE_PACKAGE_BASE="{data_name}"')
    js_bytes = js.encode("utf-8")
    js_name = f"index.{digest(js_bytes)}.js"

    html = read("index.html").decode("utf-8")
    html = replace_once(html, '<script async type="text/javascript" src="index.js"></script>',
                        f'<script async type="text/javascript" src="{js_name}"></script>')
    # "crossorigin" (anonymous): the credentials mode of emcc's fetch() and XHR, so the preloads are used.
    html = replace_once(html, "</head>",
                        f'  <link rel="preload" href="{wasm_name}" as="fetch" type="application/wasm" crossorigin>\n'
                        f'  <link rel="preload" href="{data_name}" as="fetch" crossorigin>\n</head>')

    for name, body in ((wasm_name, wasm), (data_name, data), (js_name, js_bytes)):
        path = os.path.join(site, name)
        write(path, body)
        write(path + ".gz", gzip.compress(body, compresslevel=9, mtime=0))
        write(path + ".br", brotli.compress(body, quality=11))
    write(os.path.join(site, "index.html"), html.encode("utf-8"))
    for name in ("index.wasm", "index.data", "index.js"):
        os.remove(os.path.join(site, name))


if __name__ == "__main__":
    main()
