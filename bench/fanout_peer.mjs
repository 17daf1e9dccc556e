// Fan-out CPU against a Node `ws` peer (issue 14, target 3): 1,000 connections in one group, 100
// sends of a small chat message through each server's REST send, CPU of each server process
// (utime + stime from /proc: the load generator on the same cores does not count) per 1,000
// deliveries; plus RSS per idle connection (target 7). Both servers run in the same run, in turn.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startStub, rest } from '../tests/lib/stub.mjs';
import { report } from './report.mjs';

const WebSocket = createRequire(new URL('../tests/package.json', import.meta.url))('ws');

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 1000);
const SENDS = Number(process.env.BENCH_SENDS || 100);
const proc = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { cpuMs: (Number(f[11]) + Number(f[12])) * 10, sysMs: Number(f[12]) * 10, rssKb: Number(f[21]) * 4 };
};

async function openMany(urlOf, protocol) {
  const socks = [];
  let received = 0;
  for (let i = 0; i < CONNECTIONS; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, CONNECTIONS - i) }, async (_, k) => {
      const ws = new WebSocket(await urlOf(i + k), protocol ? [protocol] : []);
      await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
      ws.on('message', () => { received++; });
      socks.push(ws);
    }));
  }
  return { socks, received: () => received, reset: () => { received = 0; } };
}

async function run(name, pid, send, conns) {
  await new Promise((r) => setTimeout(r, 500));
  conns.reset();
  const before = proc(pid);
  for (let i = 0; i < SENDS; i++) await send(i);
  for (let i = 0; i < 600 && conns.received() < CONNECTIONS * SENDS; i++) await new Promise((r) => setTimeout(r, 50));
  const after = proc(pid);
  const per1000 = (ms) => (ms * 1000) / (CONNECTIONS * SENDS);
  return { name, cpuPer1000: per1000(after.cpuMs - before.cpuMs), sysPer1000: per1000(after.sysMs - before.sysMs), delivered: conns.received() };
}

const payload = { type: 'chat.message', message: { messageId: 'm1', conversationId: 'bench', seq: 1, senderId: 'alice', text: 'a short chat message of about sixty bytes in all', createdAt: 1795000000000 } };
const results = [];

// The stub: json.webpubsub.azure.v1 clients joined to the group through their access URL's group claim.
const stub = await startStub({ args: ['--quiet', '--max-connections', String(CONNECTIONS + 100)] });
try {
  // One user per connection (the stub allows 32 sessions per user), tokens from the REST plane.
  const urlOf = async (i) => {
    const q = `/api/hubs/chat/:generateToken?api-version=2024-12-01&userId=u${i}&role=webpubsub.joinLeaveGroup.conversation%3Ademo&minutesToExpire=60`;
    return `ws://127.0.0.1:${stub.port}/client/hubs/chat?access_token=${(await rest(stub, 'POST', q)).json.token}`;
  };
  const rssBefore = proc(stub.proc.pid).rssKb;
  const conns = await openMany(urlOf, 'json.webpubsub.azure.v1');
  // Join by frame (the access URL grants the role).
  await Promise.all(conns.socks.map((ws) => new Promise((res) => {
    const onMsg = (d) => { const f = JSON.parse(String(d)); if (f.type === 'ack') { ws.off('message', onMsg); res(); } };
    ws.on('message', onMsg);
    ws.send(JSON.stringify({ type: 'joinGroup', group: 'conversation:demo', ackId: 1 }));
  })));
  await new Promise((r) => setTimeout(r, 500));
  const rssPerConn = ((proc(stub.proc.pid).rssKb - rssBefore) * 1024) / CONNECTIONS;
  const r = await run('chat-stub (C++)', stub.proc.pid, () => rest(stub, 'POST', '/api/hubs/chat/groups/conversation%3Ademo/:send?api-version=2024-12-01', payload), conns);
  results.push({ ...r, rssPerConn });
  for (const ws of conns.socks) ws.terminate();
} finally { await stub.stop(); }

// The Node peer.
const peer = spawn(process.execPath, ['--expose-gc', path.join(import.meta.dirname, 'peer_ws_server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const port = await new Promise((res) => peer.stdout.once('data', (d) => res(JSON.parse(String(d)).port)));
  const collect = async () => {
    if ((await fetch(`http://127.0.0.1:${port}/gc`, { method: 'POST' })).status !== 204) throw new Error('the peer did not collect its garbage');
    await new Promise((r) => setTimeout(r, 200));
  };
  await collect();
  const rssBefore = proc(peer.pid).rssKb;
  const conns = await openMany(async () => `ws://127.0.0.1:${port}/?group=conversation:demo`, 'json.webpubsub.azure.v1');
  await new Promise((r) => setTimeout(r, 500));
  await collect();
  const rssPerConn = ((proc(peer.pid).rssKb - rssBefore) * 1024) / CONNECTIONS;
  const r = await run('node ws (peer)', peer.pid, () => fetch(`http://127.0.0.1:${port}/groups/conversation%3Ademo/:send`, { method: 'POST', body: JSON.stringify(payload) }), conns);
  results.push({ ...r, rssPerConn });
  for (const ws of conns.socks) ws.terminate();
} finally { peer.kill(); }

const node = results[1];
console.log(`fan-out: ${CONNECTIONS} connections in one group, ${SENDS} sends (server CPU per 1,000 deliveries; RSS per idle connection):`);
for (const r of results)
  console.log(`  ${r.name.padEnd(18)} ${r.cpuPer1000.toFixed(1).padStart(6)} ms/1000  ${(node.cpuPer1000 / r.cpuPer1000).toFixed(2)}x less CPU than node  ` +
    `${(r.rssPerConn / 1024).toFixed(1).padStart(6)} KiB/conn  delivered ${r.delivered}/${CONNECTIONS * SENDS}  (kernel ${r.sysPer1000.toFixed(1)} ms/1000)`);
// The kernel's part (stime: the loopback TCP send of each frame, the same work for any server) is
// a floor under our CPU: with no user-space work at all, the ratio could reach node / that.
console.log(`  at most ${(node.cpuPer1000 / results[0].sysPer1000).toFixed(2)}x less CPU than node is possible here: our kernel time per delivery alone is ${results[0].sysPer1000.toFixed(1)} ms/1000`);
// A server that dropped frames did less work: its CPU per delivery would flatter it.
for (const r of results)
  if (r.delivered !== CONNECTIONS * SENDS) throw new Error(`${r.name} delivered ${r.delivered} of ${CONNECTIONS * SENDS} frames`);
const ours = results[0];
report({ target: '3', figure: 'server CPU per delivery', ours: ours.cpuPer1000, peer: node.cpuPer1000, unit: 'us', ratio: node.cpuPer1000 / ours.cpuPer1000, goal: ['>=', 3] });
report({ target: '7', figure: 'RSS per idle connection', ours: ours.rssPerConn / 1024, peer: node.rssPerConn / 1024, unit: 'KiB', ratio: ours.rssPerConn / node.rssPerConn, goal: ['<=', 1] });
