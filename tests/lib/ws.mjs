// A tiny WebSocket helper for protocol tests: collects frames and waits for matching ones.
import WebSocket from 'ws';
import { api } from './stub.mjs';

// Members' presence changes (chat.presence, published whenever a test user connects or leaves)
// are set aside in `presence` unless `keepPresence`: a suite about something else sees the frames
// it is about, in order, whatever connections other tests open.
export function connect(url, protocol = 'json.webpubsub.azure.v1', { keepPresence = false } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol ? [protocol] : []);
    const frames = [];
    const presence = [];
    const waiters = [];
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (!keepPresence && f?.data?.type === 'chat.presence') { presence.push(f); return; }
      frames.push(f);
      for (const w of [...waiters]) if (w.pred(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.on('error', reject);
    ws.on('open', () => resolve({
      ws, frames, presence,
      send: (obj) => ws.send(JSON.stringify(obj)),
      next(pred, timeout = 5000) {
        const hit = frames.find(pred);
        if (hit) { frames.splice(frames.indexOf(hit), 1); return Promise.resolve(hit); }
        return new Promise((res, rej) => {
          const w = { pred, resolve: (f) => { clearTimeout(t); frames.splice(frames.indexOf(f), 1); res(f); } };
          const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error('timed out waiting for a frame; have ' + JSON.stringify(frames))); }, timeout);
          waiters.push(w);
        });
      },
      closed: new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) }))),
      close: () => ws.close(),
    }));
  });
}

// Connects as `token`'s user with an access URL for `group`, joins it, and returns the socket.
export async function joinAs(base, token, group, protocol) {
  const url = (await api(base, token, 'POST', '/realtime/clientAccessUrl', { groupName: group })).json.url;
  const c = await connect(url, protocol);
  await c.next((f) => f.event === 'connected');
  c.send({ type: 'joinGroup', group, ackId: 1 });
  const ack = await c.next((f) => f.type === 'ack' && f.ackId === 1);
  if (!ack.success) throw new Error(`join ${group}: ${JSON.stringify(ack)}`);
  return c;
}

// Like connect, but never rejects: { status: 101, c } when the upgrade succeeded, otherwise
// { status (0 when there was no HTTP answer), body, error }.
export function tryConnect(url, protocol = 'json.webpubsub.azure.v1') {
  return connect(url, protocol).then((c) => ({ status: 101, c }), (error) => ({ status: error.status ?? 0, body: error.body ?? '', error }));
}

// After an accepted upgrade: whichever comes first, the service's `connected` frame or the close.
export function connectedOrClosed(c, timeout = 15000) {
  return Promise.race([
    c.closed.then((closed) => ({ closed })),
    c.next((f) => f.type === 'system' && f.event === 'connected', timeout).then((connected) => ({ connected }), () => ({ timedOut: true })),
  ]);
}

// The claims of a JWT (or of the access_token in an access URL), unverified.
export function claimsOf(tokenOrUrl) {
  const token = tokenOrUrl.includes('access_token=') ? tokenOf(tokenOrUrl) : tokenOrUrl;
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
}

// The access_token parameter of a URL, even one whose host part was forged to hold a '?'.
export function tokenOf(url) {
  const m = url.match(/[?&]access_token=([^&#]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}
