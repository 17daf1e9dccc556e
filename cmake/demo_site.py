#!/usr/bin/env python3
"""Assembles the static demo (issue 15): build/wasm/demo-site = the web client's site, the backend
compiled to WebAssembly (demo_backend.js/.wasm) with its worker (demo_worker.js), and a config.json
that switches the client to the in-browser backend ("mode": "demo"). Copy the folder to any static
host; nothing there needs a build step or a server.

usage: demo_site.py SITE_DIR BACKEND_DIR WORKER_JS OUT_DIR
"""
import json
import os
import shutil
import sys


def main():
    site, backend, worker, out = sys.argv[1:5]
    tmp = out + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(site, tmp)
    for name in ('demo_backend.js', 'demo_backend.wasm'):
        shutil.copy2(os.path.join(backend, name), os.path.join(tmp, name))
    shutil.copy2(worker, os.path.join(tmp, 'demo_worker.js'))
    with open(os.path.join(site, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    config['mode'] = 'demo'
    config['apiBase'] = ''
    with open(os.path.join(tmp, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


if __name__ == '__main__':
    main()
