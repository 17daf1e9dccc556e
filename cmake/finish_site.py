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

Everything is read and checked before the folder changes (a reference this script does not know
how to rewrite stops the build); then earlier builds' hashed files and variants are removed, so
the folder holds exactly one build. Run again without a new link, it finds the folder finished and
does nothing. Usage: finish_site.py SITE_DIR
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


def replace_one(text: str, old: str, new: str) -> str:
    count = text.count(old)
    if count != 1:
        sys.exit(f"finish_site: expected {old!r} exactly once, found it {count} time(s)")
    return text.replace(old, new)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    site = sys.argv[1]

    def path(name: str) -> str:
        return os.path.join(site, name)

    def read(name: str) -> bytes:
        with open(path(name), "rb") as f:
            return f.read()

    outputs = ("index.js", "index.wasm", "index.data")
    if not all(os.path.exists(path(n)) for n in outputs):
        # Run again without a new link: the folder is finished already if index.html loads a
        # hashed JS that is there; anything else is an error (never delete what it loads).
        html = read("index.html").decode("utf-8")
        m = re.search(r'src="(index\.[0-9a-f]{12}\.js)"', html)
        if m and os.path.exists(path(m.group(1))) and not any(os.path.exists(path(n)) for n in outputs):
            return
        sys.exit(f"finish_site: {site} has neither emcc's {', '.join(outputs)} nor a finished build")
    wasm, data = read("index.wasm"), read("index.data")
    js = read("index.js").decode("utf-8")
    html = read("index.html").decode("utf-8")

    wasm_name, data_name = f"index.{digest(wasm)}.wasm", f"index.{digest(data)}.data"
    # emcc 3.1.6: wasmBinaryFile="index.wasm"; the file packager's REMOTE_PACKAGE_BASE="index.data".
    js = replace_one(js, 'wasmBinaryFile="index.wasm"', f'wasmBinaryFile="{wasm_name}"')
    js = replace_one(js, 'REMOTE_PACKAGE_BASE="index.data"', f'REMOTE_PACKAGE_BASE="{data_name}"')
    for stale in ('"index.wasm"', '"index.data"', "'index.wasm'", "'index.data'"):
        if stale in js:
            sys.exit(f"finish_site: index.js still names {stale}: emcc's output changed, update this script")
    js_bytes = js.encode("utf-8")
    js_name = f"index.{digest(js_bytes)}.js"
    html = replace_one(html, '<script async type="text/javascript" src="index.js"></script>',
                       f'<script async type="text/javascript" src="{js_name}"></script>')
    # "crossorigin" (anonymous): the credentials mode of emcc's fetch() and XHR, so the preloads are used.
    html = replace_one(html, "</head>",
                       f'  <link rel="preload" href="{wasm_name}" as="fetch" type="application/wasm" crossorigin>\n'
                       f'  <link rel="preload" href="{data_name}" as="fetch" crossorigin>\n</head>')

    # Everything read and checked: now the folder changes. Earlier builds' hashed files and any
    # temporary file a failed run left go first.
    for name in os.listdir(site):
        if HASHED.match(name) or name.endswith(".tmp"):
            os.remove(path(name))
    for name, body in ((wasm_name, wasm), (data_name, data), (js_name, js_bytes)):
        write(path(name), body)
        write(path(name) + ".gz", gzip.compress(body, compresslevel=9, mtime=0))
        write(path(name) + ".br", brotli.compress(body, quality=11))
    write(path("index.html"), html.encode("utf-8"))
    for name in outputs:
        os.remove(path(name))


if __name__ == "__main__":
    main()
