// Issue 14's target 4: the durable path against a direct send, on one stub (embedded service),
// in one run. One member's client is subscribed to a two-member conversation; the other member
//   durable   POST /chat/reply: checked, stored with its outbox rows in one SQLite transaction
//             (WAL, synchronous=FULL: on disk before the 201), then published by the outbox
//   direct    a REST group send with the service key (no store, no outbox): the peer
// one message at a time, each waiting until the other client has it, in interleaved rounds.
// Server CPU per message is the stub's utime + stime from /proc (the node client on the same two
// cores does not count); latency is from the request's start to the frame at the other client.
import { readFileSync } from 'node:fs';
import { startStub, login, api, rest } from '../tests/lib/stub.mjs';
import { connect } from '../tests/lib/ws.mjs';
import { report } from './report.mjs';

const PER_ROUND = Number(process.env.BENCH_MESSAGES || 1000);  // 3,000 direct sends of about 100 us: 30 of /proc's 10 ms ticks
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);  // clock ticks of 10 ms
};
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

const stub = await startStub({ args: ['--demo-users', '2', '--send-rate', '0', '--create-rate', '0', '--quiet'] });
const runs = { durable: { cpu: 0, n: 0, lat: [] }, direct: { cpu: 0, n: 0, lat: [] } };
try {
  const alice = await login(stub.base, 'user-1');
  const bob = await login(stub.base, 'user-2');
  const room = (await api(stub.base, alice, 'POST', '/chat/conversations', { title: 'Bench', members: ['user-2'] })).json.conversation.conversationId;
  const group = `conversation:${room}`;
  const url = (await api(stub.base, bob, 'POST', '/realtime/clientAccessUrl', { groups: [] })).json.url;
  const c = await connect(url);
  const id = (await c.next((f) => f.event === 'connected')).connectionId;
  if ((await api(stub.base, bob, 'POST', '/chat/subscribe', { connectionId: id, conversationId: room })).status !== 200) throw new Error('subscribe');
  let waiting = null;  // { text, resolve }
  c.ws.on('message', (raw) => {
    const f = JSON.parse(String(raw));
    if (waiting && f.type === 'message' && f.data?.message?.text === waiting.text) waiting.resolve(performance.now());
  });
  const arrives = (text) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`"${text}" never arrived`)), 15000);
    waiting = { text, resolve: (t) => { clearTimeout(timer); waiting = null; resolve(t); } };
  });
  const sends = {
    durable: async (text, i) => {
      const r = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: room, message: text, clientMessageId: `d-${i}` });
      if (r.status !== 201) throw new Error(`reply: ${r.status}`);
    },
    direct: async (text) => {
      const r = await rest(stub, 'POST', `/api/hubs/chat/groups/${encodeURIComponent(group)}/:send?api-version=2024-12-01`,
        { type: 'chat.message', message: { text } });
      if (r.status !== 202) throw new Error(`send: ${r.status}`);
    },
  };
  // Warm-up: both paths, unmeasured.
  for (let i = 0; i < 30; i++)
    for (const kind of ['durable', 'direct']) { const got = arrives(`warm ${kind} ${i}`); await sends[kind](`warm ${kind} ${i}`, `w${i}`); await got; }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['durable', 'direct']) {
      const run = runs[kind];
      const before = cpuTicks(stub.proc.pid);
      for (let i = 0; i < PER_ROUND; i++) {
        const text = `${kind} ${round} ${i}`;
        const got = arrives(text);
        const t0 = performance.now();
        await sends[kind](text, `${round}-${i}`);
        run.lat.push((await got) - t0);
      }
      run.cpu += cpuTicks(stub.proc.pid) - before;
      run.n += PER_ROUND;
    }
  }
  c.close();
} finally { await stub.stop().catch((e) => console.error(`note: ${e.message.split("\n")[0]}`)); }

const us = (r) => (r.cpu * 10000) / r.n;
const d = runs.durable, p = runs.direct;
console.log(`${d.n} messages each, one at a time, ${ROUNDS} interleaved rounds; stub CPU per message (utime+stime), latency request start -> frame at the other client`);
console.log('path                    CPU us/msg   x direct   p50 ms   p99 ms');
for (const [name, r] of [['durable (/chat/reply)', d], ['direct (REST send)', p]])
  console.log(`${name.padEnd(22)} ${us(r).toFixed(0).padStart(11)} ${(us(r) / us(p)).toFixed(2).padStart(10)} ${pct(r.lat, 50).toFixed(2).padStart(8)} ${pct(r.lat, 99).toFixed(2).padStart(8)}`);
report({ target: '4a', figure: 'CPU per message', ours: us(d), peer: us(p), unit: 'us', ratio: us(d) / us(p), goal: ['<=', 1.5] });
report({ target: '4b', figure: 'p99 latency', ours: pct(d.lat, 99), peer: pct(p.lat, 99), unit: 'ms', ratio: pct(d.lat, 99) / pct(p.lat, 99), goal: ['<=', 1.5] });
console.log(`ratios durable/direct: CPU ${(us(d) / us(p)).toFixed(2)}x (target <= 1.5x), p50 ${(pct(d.lat, 50) / pct(p.lat, 50)).toFixed(2)}x, p99 ${(pct(d.lat, 99) / pct(p.lat, 99)).toFixed(2)}x (target <= 1.5x)`);
