// demo_worker.js - the static demo's backend (issue 15): the stub's own backend compiled to
// WebAssembly (demo_backend.cpp) in a SharedWorker, so that every tab of the demo on this origin
// talks to one backend (open ?user=alice and ?user=bob in two tabs and they chat live). Where
// SharedWorker is missing the page starts this as a dedicated Worker: a backend per tab.
//
// Pages speak to it over a MessagePort with the network path's requests and frames
// (src/platform/web/web_platform.cpp, "the static demo"). Its SQLite file lives in the module's
// memory file system and is kept in IndexedDB after every change, with the demo's access key, so
// a reload finds the history. No request leaves the page's origin.
/* global createDemoBackend */
'use strict';
importScripts('demo_backend.js');

const DIR = '/demo';
const DB_FILE = DIR + '/chat.db';

// ---- IndexedDB: one object store, two keys ("db": the SQLite file's bytes, "key") ----------
function idb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('chat-demo', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('files');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function idbGet(name) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const r = db.transaction('files').objectStore('files').get(name);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function idbPut(name, value) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('files', 'readwrite');
    tx.objectStore('files').put(value, name);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; ++i) out[i] = s.charCodeAt(i);
  return out;
}

// ---- sockets: a global id per (port, page's socket id) ----------------------------------------
const sockets = new Map();  // global id -> { port, sid }
const bySid = new Map();    // port -> Map(sid -> global id)
let nextId = 1;
let opening = null;         // frames sent while demo_ws_open runs, before the page knows it opened

function demoSend(id, text) {
  if (opening && opening.id === id) { opening.frames.push(text); return; }
  const s = sockets.get(id);
  if (s) s.port.postMessage({ type: 'ws-message', sid: s.sid, text });
}
function demoClose(id, code, reason) {
  const s = sockets.get(id);
  if (!s) return;
  if (opening && opening.id === id) { opening.close = { code, reason }; return; }
  s.port.postMessage({ type: 'ws-close', sid: s.sid, code, reason });
  forget(id);
}
function forget(id) {
  const s = sockets.get(id);
  if (!s) return;
  sockets.delete(id);
  bySid.get(s.port)?.delete(s.sid);
}

// ---- the backend --------------------------------------------------------------------------------
const backend = (async () => {
  const M = await createDemoBackend({ demoSend, demoClose });
  M.FS.mkdir(DIR);
  let key = null;
  try {
    const saved = await idbGet('db');
    if (saved instanceof Uint8Array && saved.length) M.FS.writeFile(DB_FILE, saved);
    key = await idbGet('key');
  } catch (e) {
    console.warn('demo: no IndexedDB, the demo data lasts until the last tab closes', e);
  }
  if (typeof key !== 'string' || key.length < 32) key = randomKey();
  if (!M.ccall('demo_start', 'number', ['string', 'string', 'string'], [DIR, key, self.location.origin])) {
    throw new Error('the demo backend did not start');
  }
  idbPut('key', key).catch(() => {});
  // Expiry, outbox retries and the scripted users' next steps (which write too).
  setInterval(() => { M._demo_tick(); save(M); }, 250);
  return M;
})();

// The SQLite file into IndexedDB whenever it changed (its modification time moved), at once:
// the last tab may close, and the worker end, right after a message. One write at a time; a
// change during a write is saved after it.
let saved = 0;
let writing = false;
let again = false;
function save(M) {
  if (writing) { again = true; return; }
  if (resetting) return;
  let stamp, bytes;
  try {
    stamp = M.FS.stat(DB_FILE).mtime.getTime();
    if (stamp === saved) return;
    bytes = M.FS.readFile(DB_FILE);
  } catch { return; }
  writing = true;
  idbPut('db', bytes).then(() => { saved = stamp; }, (e) => console.warn('demo: not saved', e)).finally(() => {
    writing = false;
    if (again) { again = false; save(M); }
  });
}

function call(M, fn, types, args) {
  const ptr = M.ccall(fn, 'number', types, args);
  const text = M.UTF8ToString(ptr);
  M._demo_free(ptr);
  return JSON.parse(text);
}

// The Demo menu's dropped connection: the page's network is "down" for a few seconds, so its
// client shows reconnecting, retries, then recovers its session and catches up.
const DROP_MS = 3000;
const offlineUntil = new Map();  // port -> time
const offline = (port) => Date.now() < (offlineUntil.get(port) || 0);

async function onMessage(port, m) {
  const M = await backend;
  if ((m.type === 'http' || m.type === 'ws-open') && offline(port)) {
    if (m.type === 'http') port.postMessage({ type: 'http', id: m.id, status: 0 });
    else port.postMessage({ type: 'ws-open', sid: m.sid, ok: false, status: 0 });
    return;
  }
  if (m.type === 'http') {
    const body = m.body instanceof Uint8Array ? m.body : new Uint8Array(0);
    const req = { method: String(m.method || 'GET'), target: String(m.target || '/'), headers: m.headers || {}, bodyBase64: toBase64(body) };
    const res = call(M, 'demo_http', ['string'], [JSON.stringify(req)]);
    port.postMessage({ type: 'http', id: m.id, status: res.status, body: fromBase64(res.bodyBase64) });
    save(M);
  } else if (m.type === 'ws-open') {
    const id = nextId++;
    sockets.set(id, { port, sid: m.sid });
    if (!bySid.has(port)) bySid.set(port, new Map());
    bySid.get(port).set(m.sid, id);
    opening = { id, frames: [], close: null };
    let res;
    try {
      res = call(M, 'demo_ws_open', ['number', 'string', 'string'], [id, String(m.url || ''), String(m.protocol || '')]);
    } finally {
      const pending = opening;
      opening = null;
      if (!res || !res.ok) {
        forget(id);
        port.postMessage({ type: 'ws-open', sid: m.sid, ok: false, status: res ? res.status : 500 });
      } else {
        port.postMessage({ type: 'ws-open', sid: m.sid, ok: true, protocol: res.protocol });
        for (const text of pending.frames) port.postMessage({ type: 'ws-message', sid: m.sid, text });
        const close = pending.close || (res.closeCode ? { code: res.closeCode, reason: res.closeReason } : null);
        if (close) { port.postMessage({ type: 'ws-close', sid: m.sid, code: close.code, reason: close.reason }); forget(id); }
      }
    }
    save(M);
  } else if (m.type === 'demo-drop') {
    // The Demo menu: this page's connections go as on a lost network (reconnect, catch-up, banner).
    // A backend per tab (no SharedWorker) has one page: the same.
    offlineUntil.set(port, Date.now() + DROP_MS);
    for (const id of [...(bySid.get(port)?.values() || [])]) M._demo_drop(id);
  } else if (m.type === 'demo-reset') {
    // The Demo menu: the demo's data and key go; every page reloads onto a fresh backend.
    resetting = true;
    await idbPut('db', new Uint8Array(0));
    await idbPut('key', '');
    for (const p of ports) p.postMessage({ type: 'demo-reset' });
    self.close();
  } else if (m.type === 'ws-send' || m.type === 'ws-close') {
    const id = bySid.get(port)?.get(m.sid);
    if (id === undefined) return;
    if (m.type === 'ws-send') {
      M.ccall('demo_ws_message', null, ['number', 'string'], [id, String(m.text)]);
    } else {
      forget(id);
      M.ccall('demo_ws_closed', null, ['number', 'number'], [id, m.code | 0]);
    }
    save(M);
  }
}

const ports = new Set();
let resetting = false;
function attach(port) {
  ports.add(port);
  port.onmessage = (e) => { onMessage(port, e.data || {}).catch((err) => console.error('demo backend:', err)); };
  if (port.start) port.start();
}

if (typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => attach(e.ports[0]);
} else {
  attach(self);  // a dedicated Worker: this tab's own backend
}
