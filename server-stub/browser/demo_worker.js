// demo_worker.js - the static demo's backend (issue 15): the stub's own backend compiled to
// WebAssembly (demo_backend.cpp) in a SharedWorker, so that every tab of the demo on this origin
// talks to one backend (open ?user=alice and ?user=bob in two tabs and they chat live). Where
// SharedWorker is missing the page starts this as a dedicated Worker: a backend per tab.
//
// Pages speak to it over a MessagePort with the network path's requests and frames
// (src/platform/web/web_platform.cpp, "the static demo"). Its SQLite file lives in the module's
// memory file system and is kept in IndexedDB after every change, with the attachments and the
// demo's access key, so a reload finds the history. No request leaves the page's origin.
/* global createDemoBackend */
'use strict';
importScripts('demo_backend.js');

const DIR = '/demo';
const DB_FILE = DIR + '/chat.db';
const BLOB_DIR = DIR + '/blobs';  // demo_backend.cpp: the backend's blob_dir

// ---- IndexedDB: one object store: "db" (the SQLite file's bytes), "key", "blob:<id>" (files) ---
// A backend per tab (no SharedWorker) keeps its data apart from the shared one's.
const SHARED = typeof SharedWorkerGlobalScope !== 'undefined' && self instanceof SharedWorkerGlobalScope;
const IDB_NAME = SHARED ? 'chat-demo' : 'chat-demo-tab';
// A backend per tab: one tab at a time keeps the data. Two would each save their own copy of the
// SQLite file over the other's, and what was sent in one would be gone. The first tab holds a
// Web Lock for as long as it lives; any other starts from the saved data, saves nothing, and
// says so. (The shared worker is the only backend of its tabs: it always keeps.)
const KEEPER_NOTE = 'Another tab of this demo keeps its data: what you do in this tab is gone when it closes.';
const keeping = SHARED || !self.navigator?.locks ? Promise.resolve(true) : new Promise((resolve) => {
  navigator.locks.request(IDB_NAME, { ifAvailable: true }, (lock) => {
    resolve(lock !== null);
    return lock ? new Promise(() => {}) : undefined;  // held until this worker ends
  }).catch(() => resolve(true));
});
let keeper = true;  // set from `keeping` before the backend runs
let opened = null;  // one connection, opened once
function idb() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const open = indexedDB.open(IDB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('files');
      open.onsuccess = () => {
        const db = open.result;
        // Closed under us (site data cleared, the browser's choice): the next use opens afresh.
        db.onclose = () => { opened = null; };
        db.onversionchange = () => { db.close(); opened = null; };
        resolve(db);
      };
      open.onerror = () => { opened = null; reject(open.error); };
    });
  }
  return opened;
}
function idbRequest(mode, fn) {
  return idb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction('files', mode);
    const r = fn(tx.objectStore('files'));
    tx.oncomplete = () => resolve(r.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}
const idbGet = (name) => idbRequest('readonly', (s) => s.get(name));
const idbKeys = () => idbRequest('readonly', (s) => s.getAllKeys());
const idbPut = (name, value) => idbRequest('readwrite', (s) => s.put(value, name));
const idbClear = () => idbRequest('readwrite', (s) => s.clear());

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
  keeper = await keeping;
  const M = await createDemoBackend({ demoSend, demoClose });
  M.FS.mkdir(DIR);
  let key = null;
  M.FS.mkdir(BLOB_DIR);
  try {
    const saved = await idbGet('db');
    if (saved instanceof Uint8Array && saved.length) M.FS.writeFile(DB_FILE, saved);
    key = await idbGet('key');
    // The attachments' files, where the backend keeps them (named by their ids).
    for (const k of await idbKeys()) {
      const id = typeof k === 'string' && k.startsWith('blob:') ? k.slice(5) : '';
      if (!/^blob_[0-9a-f]{20}$/.test(id)) continue;
      const bytes = await idbGet(k);
      if (!(bytes instanceof Uint8Array)) continue;
      M.FS.writeFile(BLOB_DIR + '/' + id, bytes);
      keptBlobs.add(id);
    }
  } catch (e) {
    console.warn('demo: no IndexedDB, the demo data lasts until the last tab closes', e);
  }
  if (typeof key !== 'string' || key.length < 32) key = randomKey();
  const start = () => M.ccall('demo_start', 'number', ['string', 'string', 'string'], [DIR, key, self.location.origin]);
  if (!start()) {
    // A stored file the backend cannot open or migrate: start afresh rather than never.
    console.warn('demo: the stored demo data could not be opened; starting with fresh data');
    try { M.FS.unlink(DB_FILE); } catch { /* none */ }
    if (!start()) throw new Error('the demo backend did not start');
  }
  if (keeper) idbPut('key', key).catch(() => {});
  // Expiry, outbox retries and the scripted users' next steps (which may write: then save).
  setInterval(() => { if (M._demo_tick()) save(M, true); else save(M, false); reapSilentPorts(M); }, 250);
  return M;
})();

// The SQLite file into IndexedDB at once after anything that may have written (`force`), else
// when its modification time moved: the last tab may close, and the worker end, right after a
// message. One write at a time; anything during a write is saved after it. With it go the
// attachments' files: new ones first, in their own transaction (a file that cannot be kept, over
// the browser's quota say, never stops the history from being saved: its link answers 404 and the
// pages say so once); then the SQLite file and the removal of files whose messages were deleted,
// in one transaction, so a stored file never names a removed attachment.
let saved = 0;
let writing = null;  // the save in flight (a reset waits for it)
let again = false;
const keptBlobs = new Set();    // ids whose files IndexedDB holds
const unkeptBlobs = new Set();  // ids whose files could not be kept (said once)
function save(M, force) {
  if (resetting || !keeper) return;
  if (writing) { again = again || force; return; }
  let stamp, bytes, files = [];
  try {
    stamp = M.FS.stat(DB_FILE).mtime.getTime();
    if (!force && stamp === saved) return;
    bytes = M.FS.readFile(DB_FILE);
  } catch { return; }
  try { files = M.FS.readdir(BLOB_DIR).filter((n) => n !== '.' && n !== '..'); } catch { /* none yet */ }
  const present = new Set(files);
  const added = files.filter((id) => !keptBlobs.has(id) && !unkeptBlobs.has(id)).map((id) => [id, M.FS.readFile(BLOB_DIR + '/' + id)]);
  const removed = [...keptBlobs].filter((id) => !present.has(id));
  writing = (async () => {
    if (added.length) {
      try {
        await idbRequest('readwrite', (st) => { let r; for (const [id, b] of added) r = st.put(b, 'blob:' + id); return r; });
        for (const [id] of added) keptBlobs.add(id);
      } catch (e) {
        console.warn('demo: attachments not kept', e);
        for (const [id] of added) unkeptBlobs.add(id);
        tellPages('An attachment could not be kept in this browser\u2019s storage; it will be gone after a reload.');
      }
    }
    if (resetting) return;
    await idbRequest('readwrite', (st) => { for (const id of removed) st.delete('blob:' + id); return st.put(bytes, 'db'); });
    for (const id of removed) keptBlobs.delete(id);
    saved = stamp;
  })().catch((e) => console.warn('demo: not saved', e)).finally(() => {
    writing = null;
    if (again) { again = false; save(M, true); }
  });
}

// A line every page shows its user (under the composer).
function tellPages(text) {
  for (const p of ports) p.postMessage({ type: 'demo-error', text });
}

// A request or a frame as a heap string: ccall would copy a string argument onto the 5 MB stack
// (an upload's base64 would overflow it).
function callWith(M, fn, args, text) {
  const size = M.lengthBytesUTF8(text) + 1;
  const ptr = M._malloc(size);
  try {
    M.stringToUTF8(text, ptr, size);
    return M.ccall(fn, 'number', args.map(() => 'number').concat(['number']), args.concat([ptr]));
  } finally {
    M._free(ptr);
  }
}

function answerOf(M, ptr) {
  const text = M.UTF8ToString(ptr);
  M._demo_free(ptr);
  return JSON.parse(text);
}

// Pages that went away without a word (a killed tab never closes its sockets): each page pings
// every 10 s; one silent for 75 s (more than a hidden tab's throttled timers) loses its sockets
// as on a lost network.
const lastSeen = new Map();  // port -> time
function reapSilentPorts(M) {
  const now = Date.now();
  for (const [port, seen] of lastSeen) {
    if (now - seen < 75000) continue;
    lastSeen.delete(port);
    ports.delete(port);
    offlineUntil.delete(port);
    for (const id of [...(bySid.get(port)?.values() || [])]) {
      forget(id);
      M.ccall('demo_ws_closed', null, ['number', 'number'], [id, 1006]);
    }
    bySid.delete(port);
  }
}

// The Demo menu's dropped connection: the page's network is "down" for a few seconds, so its
// client shows reconnecting, retries, then recovers its session and catches up.
const DROP_MS = 3000;
const offlineUntil = new Map();  // port -> time
const offline = (port) => Date.now() < (offlineUntil.get(port) || 0);

async function onMessage(port, m) {
  lastSeen.set(port, Date.now());
  if (m.type === 'ping') return;
  if (m.type === 'demo-reset') {
    // The Demo menu: the demo's data and key go; every page reloads onto a fresh backend (this
    // works also when the backend failed to start).
    resetting = true;
    if (writing) await writing;  // its writes land before the clear, never after it
    if (keeper) await idbClear().catch(() => {});  // (another tab's data is that tab's to reset)
    for (const p of ports) p.postMessage({ type: 'demo-reset' });
    self.close();
    return;
  }
  const M = await backend;
  if (!keeper && !noted.has(port)) {
    noted.add(port);
    port.postMessage({ type: 'demo-note', text: KEEPER_NOTE });
  }
  if ((m.type === 'http' || m.type === 'ws-open') && offline(port)) {
    if (m.type === 'http') port.postMessage({ type: 'http', id: m.id, status: 0 });
    else port.postMessage({ type: 'ws-open', sid: m.sid, ok: false, status: 0 });
    return;
  }
  if (m.type === 'http') {
    const body = m.body instanceof Uint8Array ? m.body : new Uint8Array(0);
    const req = { method: String(m.method || 'GET'), target: String(m.target || '/'), headers: m.headers || {}, bodyBase64: toBase64(body) };
    const res = answerOf(M, callWith(M, 'demo_http', [], JSON.stringify(req)));
    port.postMessage({ type: 'http', id: m.id, status: res.status, headers: res.headers, body: fromBase64(res.bodyBase64) });
    save(M, m.method !== 'GET');  // a read saves only if the file changed after all
  } else if (m.type === 'ws-open') {
    const id = nextId++;
    sockets.set(id, { port, sid: m.sid });
    if (!bySid.has(port)) bySid.set(port, new Map());
    bySid.get(port).set(m.sid, id);
    opening = { id, frames: [], close: null };
    let res;
    try {
      res = answerOf(M, M.ccall('demo_ws_open', 'number', ['number', 'string', 'string'], [id, String(m.url || ''), String(m.protocol || '')]));
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
    save(M, true);
  } else if (m.type === 'demo-drop') {
    // The Demo menu: this page's connections go as on a lost network (reconnect, catch-up, banner).
    // A backend per tab (no SharedWorker) has one page: the same.
    offlineUntil.set(port, Date.now() + DROP_MS);
    for (const id of [...(bySid.get(port)?.values() || [])]) M._demo_drop(id);
  } else if (m.type === 'ws-send' || m.type === 'ws-close') {
    const id = bySid.get(port)?.get(m.sid);
    if (id === undefined) return;
    if (m.type === 'ws-send') {
      callWith(M, 'demo_ws_message', [id], String(m.text));
    } else {
      forget(id);
      M.ccall('demo_ws_closed', null, ['number', 'number'], [id, m.code | 0]);
    }
    save(M, true);
  }
}

const ports = new Set();
const noted = new WeakSet();  // ports told that this tab's data is not kept
let resetting = false;
function attach(port) {
  ports.add(port);
  lastSeen.set(port, Date.now());
  port.onmessage = (e) => {
    const m = e.data || {};
    onMessage(port, m).catch((err) => {
      // Never leave a page waiting: a request gets an answer, an upgrade a refusal.
      console.error('demo backend:', err);
      const body = new TextEncoder().encode(JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'The demo backend failed: ' + String(err && err.message || err) } }));
      if (m.type === 'http') port.postMessage({ type: 'http', id: m.id, status: 503, body });
      else if (m.type === 'ws-open') port.postMessage({ type: 'ws-open', sid: m.sid, ok: false, status: 503 });
    });
  };
  if (port.start) port.start();
}

if (SHARED) {
  self.onconnect = (e) => attach(e.ports[0]);
} else {
  attach(self);  // a dedicated Worker: this tab's own backend
}
