// Resource exhaustion: a WebSocket reader that never reads (the server's memory stays bounded and
// the slow connection is dropped), idle connections past --max-connections, and running out of
// file descriptors (ulimit -n 64) without the accept loop spinning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startStub, rest, clientToken, healthy, waitFor, login, api } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

const rssMb = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)\s+kB/)[1]) / 1024;

async function member(stub, user) {
  const c = await connect(`ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${clientToken(stub, { sub: user, roles: ['webpubsub.joinLeaveGroup.flood'] })}`);
  const hello = await c.next((f) => f.event === 'connected');
  c.send({ type: 'joinGroup', group: 'flood', ackId: 1 });
  assert.equal((await c.next((f) => f.ackId === 1)).success, true);
  c.id = hello.connectionId;
  return c;
}

test('a reader that never reads: RSS stays under 250 MB over 300 MB sent, it is dropped, the healthy reader gets all', { timeout: 200000 }, async (t) => {
  const stub = await startStub({ args: ['--quiet'] });
  try {
    // The healthy reader only counts frames (1 MB JSON each), without keeping them.
    const healthyReader = await member(stub, 'reader');
    let received = 0;
    healthyReader.ws.on('message', () => { received++; healthyReader.frames.length = 0; });
    const slow = await member(stub, 'sloth');
    slow.ws._socket.pause();

    const text = 'x'.repeat(1000 * 1000);
    const total = 300;
    let peak = rssMb(stub.proc.pid);
    for (let i = 0; i < total; i++) {
      const r = await rest(stub, 'POST', '/api/hubs/chat/groups/flood/:send', `${i}:${text}`, { contentType: 'text/plain' });
      assert.equal(r.status, 202, `send ${i}: ${r.status} ${r.text.slice(0, 200)}`);
      peak = Math.max(peak, rssMb(stub.proc.pid));
      assert.ok(peak < 250, `server RSS reached ${peak.toFixed(0)} MB after ${i + 1} MB sent`);
      // Do not outrun the healthy reader by more than ~50 messages (it is not the one under test).
      if (i - received > 50) await waitFor(() => i - received <= 20, { timeout: 60000, interval: 20 });
    }
    await waitFor(() => received >= total, { timeout: 120000 });
    assert.equal(received, total, 'the healthy reader received every message');
    const gone = await waitFor(async () => (await rest(stub, 'HEAD', `/api/hubs/chat/connections/${slow.id}`)).status === 404, { timeout: 60000, interval: 250 });
    assert.ok(gone, 'the slow connection was closed by the server');
    t.diagnostic(`peak server RSS ${peak.toFixed(0)} MB while 300 MB went to the group`);
    assert.equal((await rest(stub, 'HEAD', `/api/hubs/chat/connections/${healthyReader.id}`)).status, 200, 'the healthy reader is still connected');
    assert.ok(rssMb(stub.proc.pid) < 250);
    assert.ok(await healthy(stub));
    slow.ws.terminate();
    healthyReader.close();
  } finally { await stub.stop(); }
});

test('thirty readers that never read, one member flooding the typing group: memory stays bounded overall', { timeout: 200000 }, async (t) => {
  // Each socket's queue is bounded (16 MiB); past a 256 MiB budget for all queues together, any
  // socket holding more than 1 MiB is dropped. Before that budget, 30 paused readers and 40 MB of
  // 1 MB typing frames took the server to ~480 MB.
  const stub = await startStub({ args: ['--quiet'] });
  try {
    const alice = await login(stub.base, 'alice');
    const open = async () => {
      const url = (await api(stub.base, alice, 'POST', '/realtime/clientAccessUrl', { groupName: 'conversation:demo' })).json.url;
      const c = await connect(url);
      await c.next((f) => f.event === 'connected');
      c.send({ type: 'joinGroup', group: 'conversation:demo:typing', ackId: 1 });
      assert.equal((await c.next((f) => f.ackId === 1)).success, true);
      return c;
    };
    const slow = [];
    for (let i = 0; i < 30; i++) { const c = await open(); c.ws._socket.pause(); slow.push(c); }
    const sender = await open();
    const text = 'x'.repeat(1000 * 1000 - 200);
    let peak = 0;
    for (let i = 0; i < 40; i++) {
      sender.send({ type: 'sendToGroup', group: 'conversation:demo:typing', dataType: 'text', data: text, ackId: 10 + i, noEcho: true });
      await sender.next((f) => f.ackId === 10 + i, 60000);
      sender.frames.length = 0;
      peak = Math.max(peak, rssMb(stub.proc.pid));
    }
    await sleep(1000);
    peak = Math.max(peak, rssMb(stub.proc.pid));
    t.diagnostic(`peak server RSS ${peak.toFixed(0)} MB (30 paused readers, 40 MB sent to each)`);
    assert.ok(peak < 380, `server RSS reached ${peak.toFixed(0)} MB`);
    assert.equal(sender.ws.readyState, 1, 'the sender, which reads, is still connected');
    assert.ok(await healthy(stub));
    for (const c of slow) c.ws.terminate();
    sender.close();
  } finally { await stub.stop(); }
});

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// An idle TCP connection that records what the server does with it.
function openSocket(stub) {
  return new Promise((resolve) => {
    const s = net.connect({ host: stub.host, port: stub.port });
    const st = { socket: s, data: '', closed: false, error: null };
    s.on('data', (d) => { st.data += d; });
    s.on('close', () => { st.closed = true; });
    s.on('error', (e) => { st.error = e; });
    s.once('connect', () => resolve(st));
    s.once('error', () => resolve(st));
  });
}

// Sends GET /healthz on a socket and resolves '200', '503', another status, 'closed' or 'none'.
async function probe(st, timeout = 15000) {
  if (!st.closed && !st.error) st.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const done = await waitFor(() => st.closed || /^HTTP\/1\.1 \d{3}/.test(st.data), { timeout, interval: 50 });
  if (!done) return 'none';
  const m = st.data.match(/^HTTP\/1\.1 (\d{3})/);
  return m ? m[1] : 'closed';
}

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);  // utime + stime (fields 14 and 15 of the line)
}

test('--max-connections 40: of 60 idle connections at most 40 are served, the rest are closed or get 503', { timeout: 120000 }, async (t) => {
  const stub = await startStub({ args: ['--max-connections', '40', '--quiet'] });
  const socks = [];
  try {
    for (let i = 0; i < 60; i++) socks.push(await openSocket(stub));
    // Give the server time to refuse what is over the limit.
    await waitFor(() => socks.filter((s) => s.closed).length >= 20, { timeout: 5000 });
    const outcomes = await Promise.all(socks.map((s) => probe(s)));
    const count = (x) => outcomes.filter((o) => o === x).length;
    const tally = JSON.stringify(outcomes.reduce((m, o) => ({ ...m, [o]: (m[o] || 0) + 1 }), {}));
    t.diagnostic(`outcomes of 60 idle connections: ${tally}`);
    assert.ok(count('200') <= 40, `at most 40 served: ${tally}`);
    assert.ok(count('503') + count('closed') >= 20, `the rest refused: ${tally}`);
    assert.equal(count('none'), 0, `no connection left hanging without an answer: ${tally}`);
  } finally {
    for (const s of socks) s.socket.destroy();
  }
  try {
    assert.ok(await waitFor(() => healthy(stub), { timeout: 20000 }), 'healthz is 200 once they are closed');
  } finally { await stub.stop(); }
});

test('ulimit -n 64 and 100 connections: the stub does not spin (< 50% of a core) and recovers', { timeout: 120000 }, async (t) => {
  const stub = await startStub({ shell: 'ulimit -n 64', args: ['--quiet'] });
  const socks = [];
  try {
    assert.ok(await healthy(stub));
    for (let i = 0; i < 100; i++) socks.push(await openSocket(stub));
    await sleep(1000);
    const t0 = cpuTicks(stub.proc.pid);
    const w0 = Date.now();
    await sleep(2000);
    const used = (cpuTicks(stub.proc.pid) - t0) / CLK_TCK;
    const share = used / ((Date.now() - w0) / 1000);
    t.diagnostic(`CPU while out of descriptors: ${(share * 100).toFixed(0)}% of a core`);
    assert.ok(share < 0.5, `the stub used ${(share * 100).toFixed(0)}% of a core while out of descriptors`);
    assert.ok(stub.alive(), 'the stub is still running');
  } finally {
    for (const s of socks) s.socket.destroy();
  }
  try {
    assert.ok(await waitFor(() => healthy(stub), { timeout: 30000 }), 'healthz is 200 once they are closed');
  } finally { await stub.stop(); }
});

test('a body larger than its route allows is refused from the header, before it is read (no login needed)', { timeout: 60000 }, async () => {
  // Every route used to buffer up to the 5 MiB upload limit before routing: 100 anonymous
  // connections held 500 MB. Only POST /blobs may exceed --max-body-bytes now.
  const stub = await startStub({ args: ['--quiet'] });
  try {
    for (const target of ['/healthz', '/chat/reply', '/api/hubs/chat/:send', '/blobs?name=x']) {
      const length = target.startsWith('/blobs') ? 6 * 1024 * 1024 : 2 * 1024 * 1024;
      const st = await openSocket(stub);
      st.socket.write(`POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
      const answered = await waitFor(() => /^HTTP\/1\.1 \d{3}/.test(st.data), { timeout: 10000, interval: 20 });
      assert.ok(answered, `${target}: an answer without the body`);
      assert.match(st.data, /^HTTP\/1\.1 413/, target);
      st.socket.destroy();
    }
    // A 2 MiB upload is within the upload limit: the server waits for its body.
    const st = await openSocket(stub);
    st.socket.write('POST /blobs?name=x HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n');
    await sleep(500);
    assert.equal(st.data, '', 'the upload body is awaited');
    st.socket.destroy();
    assert.ok(await healthy(stub));
  } finally { await stub.stop(); }
});
