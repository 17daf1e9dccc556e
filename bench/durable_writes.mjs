// Durable write throughput (issue 16): N chat messages through POST /chat/reply, each stored with
// its outbox rows in one committed transaction (SQLite: WAL + synchronous=FULL; PostgreSQL:
// fsync and synchronous_commit on, CHAT_PG_DURABLE=1 in tests/stub/with_postgres.sh), then
// published by the outbox to one Web PubSub service (a separate chat-stub, its emulator).
//
// Runs, in turn, in one process and one run:
//   sqlite x1      one backend on a SQLite file (the reference: ratios are against it)
//   postgresql x1  one backend on PostgreSQL
//   postgresql x2  two backends on one PostgreSQL database, requests alternating between them
// (SQLite is one process per file: two backends on one file would both publish every outbox row.)
//
// Reported per run: messages per second (first request to last 201) and server CPU per message:
// utime + stime from /proc of the backend processes (and, for PostgreSQL, of its `postgres`
// processes) from just before the first request until the outbox has published everything.
// The load generator shares the 2 cores, so CPU per message is the figure to compare; msgs/s
// is reported as well. Needs CHAT_TEST_PG_URL (scripts/bench runs this inside with_postgres.sh).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi } from '../tests/lib/stub.mjs';

const MESSAGES = Number(process.env.BENCH_MESSAGES || 1000);
const LANES = Number(process.env.BENCH_LANES || 16);          // requests in flight
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS || 8);
const WARMUP = 100;

const cpuMs = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;  // gone
  }
};
// Every live PostgreSQL process (postmaster, its backends and helpers): comm is "postgres".
const postgresCpuMs = () => {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') sum += cpuMs(d);
    } catch { /* gone */ }
  }
  return sum;
};

const started = [];
const dirs = [];
const cleanup = () => { for (const s of started) { try { s.proc.kill('SIGKILL'); } catch { /* gone */ } } };
process.on('exit', cleanup);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { cleanup(); process.exit(143); });
const track = async (p) => { const s = await p; started.push(s); return s; };

async function drained(backends) {
  for (let i = 0; i < 1200; i++) {
    const states = await Promise.all(backends.map((b) => stubApi(b, 'GET', '/_stub/state')));
    if (states.every((s) => s.json?.outbox?.pending === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the outbox did not drain');
}

async function run(name, backendArgs, instances, pg) {
  const service = await track(startStub({ args: ['--no-seed', '--quiet'] }));
  const blobDir = mkdtempSync(path.join(tmpdir(), 'chat-bench-blobs-'));
  dirs.push(blobDir);
  const args = [...backendArgs(), '--blob-dir', blobDir, '--pubsub-connection-string', service.connectionString,
    '--send-rate', '1000000', '--create-rate', '0', '--quiet'];  // the stored rate limit is taken, never hit
  const backends = [];
  for (let i = 0; i < instances; i++) backends.push(await track(startStub({ args })));
  const token = await login(backends[0].base, 'alice');
  const convs = [];
  for (let i = 0; i < CONVERSATIONS; i++) {
    const r = await api(backends[0].base, token, 'POST', '/chat/conversations', { title: `bench ${i}`, members: ['bob'] });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
    convs.push(r.json.conversation.conversationId);
  }
  let next = 0;
  const send = async (count, tag) => {
    const end = next + count;
    await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
      for (let i; (i = next++) < end;) {
        const b = backends[i % backends.length];
        const r = await api(b.base, token, 'POST', '/chat/reply',
          { conversationId: convs[(i + lane) % convs.length], message: `${tag} message ${i}`, clientMessageId: `${tag}-${i}` });
        if (r.status !== 201) throw new Error(`reply ${i}: ${r.status} ${r.text}`);
      }
    }));
    next = end;
  };
  await send(WARMUP, 'warm');
  await drained(backends);
  const cpu = () => ({ backends: backends.reduce((s, b) => s + cpuMs(b.proc.pid), 0), db: pg ? postgresCpuMs() : 0 });
  const before = cpu();
  const t0 = performance.now();
  await send(MESSAGES, 'bench');
  const seconds = (performance.now() - t0) / 1000;
  await drained(backends);
  const after = cpu();
  for (const s of [...backends, service]) await s.stop();
  const backendMs = (after.backends - before.backends) / MESSAGES;
  const dbMs = (after.db - before.db) / MESSAGES;
  return { name, rate: MESSAGES / seconds, backendMs, dbMs, totalMs: backendMs + dbMs };
}

const url = process.env.CHAT_TEST_PG_URL;
if (!url) {
  console.error('durable_writes: CHAT_TEST_PG_URL is not set: run through tests/stub/with_postgres.sh (scripts/bench does)');
  process.exit(1);
}
// The password goes to the backends and psql in PGPASSWORD (inherited), not in argv.
const parsed = new URL(url);
process.env.PGPASSWORD = decodeURIComponent(parsed.password);
parsed.password = '';
const freshDb = (name) => {
  execFileSync('psql', [parsed.toString(), '-qc', `CREATE DATABASE ${name}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const u = new URL(parsed.toString());
  u.pathname = `/${name}`;
  return u.toString();
};

const results = [];
results.push(await run('sqlite x1', () => [], 1, false));
{ const db = freshDb('bench_pg1'); results.push(await run('postgresql x1', () => ['--db', db], 1, true)); }
{ const db = freshDb('bench_pg2'); results.push(await run('postgresql x2', () => ['--db', db], 2, true)); }
for (const d of dirs) rmSync(d, { recursive: true, force: true });

const ref = results[0];
console.log(`${MESSAGES} messages, ${LANES} in flight, ${CONVERSATIONS} conversations; CPU = utime+stime per message ` +
  '(backends; db = the postgres processes)');
console.log('run             msgs/s   x ref   backend ms/msg   db ms/msg   total ms/msg   x ref');
for (const r of results)
  console.log(`${r.name.padEnd(14)} ${r.rate.toFixed(0).padStart(7)} ${(r.rate / ref.rate).toFixed(2).padStart(7)}` +
    `   ${r.backendMs.toFixed(3).padStart(14)}   ${r.dbMs.toFixed(3).padStart(9)}   ${r.totalMs.toFixed(3).padStart(12)}` +
    ` ${(r.totalMs / ref.totalMs).toFixed(2).padStart(7)}`);
