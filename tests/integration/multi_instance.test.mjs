// Several backend instances behind one Web PubSub service (issue 16): one chat-stub acts as the
// service only (its embedded emulator), two chat-stub backends share one PostgreSQL database and
// publish to that service over its REST API (--pubsub-connection-string, plain http to loopback).
// Clients join two conversations on the service; messages are sent through both backends while
// one backend is SIGKILLed and restarted. Every accepted message (HTTP 2xx) must reach every
// client, in per-conversation sequence order, with gap-free sequence numbers, and the history
// from either backend must agree.
//
// Needs CHAT_TEST_PG_URL: ctest runs this suite inside tests/stub/with_postgres.sh (a throwaway
// cluster, see tests/node_tests.cmake). Without it the suite FAILS, saying so; it never skips.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';
import { WebPubSubClient } from '@azure/web-pubsub-client';

const started = new Set();
const dirs = [];
// However the run ends (a failed assertion, SIGTERM from with_postgres.sh), no stub outlives it.
const killAll = () => { for (const s of started) { try { s.proc.kill('SIGKILL'); } catch { /* gone */ } } };
process.on('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { killAll(); process.exit(143); });
after(async () => {
  for (const s of [...started]) await s.stop().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function track(promise) {
  const s = await promise;
  started.add(s);
  const stop = s.stop.bind(s);
  s.stop = async (sig) => { await stop(sig); started.delete(s); };
  return s;
}

// Waits for `cond` (polled), failing with `what()` after `ms`. Progress is the proof, not time.
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error('timed out waiting: ' + what());
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The whole history of a conversation: the latest page, then older pages by beforeSeq.
async function history(base, token, cid) {
  let all = [];
  for (let before = 0; ;) {
    const r = await api(base, token, 'GET', `/conversation/detail?conversationId=${encodeURIComponent(cid)}` +
      (before ? `&beforeSeq=${before}` : '') + '&limit=100');
    assert.equal(r.status, 200, r.text);
    all = [...r.json.messages, ...all];
    if (!r.json.hasMore || r.json.messages.length === 0) return all;
    before = r.json.messages[0].seq;
  }
}

test('two backends on one PostgreSQL, one Web PubSub service, one backend SIGKILLed and restarted: every accepted message reaches every client once, in order', { timeout: 280000 }, async () => {
  const url = process.env.CHAT_TEST_PG_URL;
  assert.ok(url, 'CHAT_TEST_PG_URL is not set: run this suite through tests/stub/with_postgres.sh (ctest does)');
  // The password goes to the backends in PGPASSWORD (inherited), not in argv.
  const parsed = new URL(url);
  process.env.PGPASSWORD = decodeURIComponent(parsed.password);
  parsed.password = '';
  const dbUrl = parsed.toString();

  const blobDir = mkdtempSync(path.join(tmpdir(), 'chat-multi-blobs-'));
  dirs.push(blobDir);
  const service = await track(startStub({ args: ['--no-seed', '--quiet'] }));
  const backendArgs = ['--db', dbUrl, '--blob-dir', blobDir, '--pubsub-connection-string', service.connectionString,
    '--send-rate', '0', '--quiet'];
  const backends = [];
  // One after the other: the first creates the schema and the demo seed, the second finds them.
  backends[0] = await track(startStub({ args: backendArgs }));
  backends[1] = await track(startStub({ args: backendArgs }));
  assert.match(backends[0].output(), new RegExp(`publishing through external Web PubSub at http://127\\.0\\.0\\.1:${service.port}`));

  // Session tokens are signed with a secret derived from the service key: one login serves both.
  const users = ['alice', 'bob', 'carol'];
  const tokens = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await login(backends[0].base, u)])));
  const created = await api(backends[1].base, tokens.alice, 'POST', '/chat/conversations', { title: 'multi instance', members: ['bob', 'carol'] });
  assert.equal(created.status, 201, created.text);
  const convs = ['demo', created.json.conversation.conversationId];
  const groups = convs.map((c) => `conversation:${c}`);

  // Each client connects to the service with an access URL from one of the backends and joins
  // both groups; every group message it receives is recorded in arrival order.
  const clients = [];
  for (const [i, u] of users.entries()) {
    const r = await api(backends[i % 2].base, tokens[u], 'POST', '/realtime/clientAccessUrl', { groups });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.url.startsWith(`ws://127.0.0.1:${service.port}/client/hubs/chat?`), r.json.url);
    const c = await connect(r.json.url);
    await c.next((f) => f.event === 'connected', 30000);
    const got = Object.fromEntries(convs.map((cid) => [cid, []]));
    c.ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      const m = f.type === 'message' && f.from === 'group' ? f.data?.message : undefined;
      if (m && got[m.conversationId] && f.group === `conversation:${m.conversationId}`) got[m.conversationId].push(m);
    });
    for (const [k, g] of groups.entries()) {
      c.send({ type: 'joinGroup', group: g, ackId: k + 1 });
      const ack = await c.next((f) => f.type === 'ack' && f.ackId === k + 1, 30000);
      assert.ok(ack.success, `${u} joins ${g}: ${JSON.stringify(ack)}`);
    }
    clients.push({ user: u, got, close: () => c.close() });
  }
  // And the official client SDK (reliable protocol, its own acks and dedupe) as carol once more.
  {
    const r = await api(backends[1].base, tokens.carol, 'POST', '/realtime/clientAccessUrl', { groups });
    assert.equal(r.status, 200, r.text);
    const sdk = new WebPubSubClient(r.json.url);
    const got = Object.fromEntries(convs.map((cid) => [cid, []]));
    sdk.on('group-message', (e) => {
      const m = e.message.data?.message;
      if (m && got[m.conversationId] && e.message.group === `conversation:${m.conversationId}`) got[m.conversationId].push(m);
    });
    await sdk.start();
    for (const g of groups) await sdk.joinGroup(g);
    clients.push({ user: 'carol (@azure/web-pubsub-client)', got, close: () => sdk.stop() });
  }
  // Backend 0 publishes slowly (fault injection: 20 ms before each publish), so when it is killed
  // it still holds claimed outbox rows: their lease (30 s) must run out and another backend take
  // them over, in order, before later rows of those conversations go out.
  const slow = await stubApi(backends[0], 'POST', '/_stub/outbox?delayNext=100000&delayMs=20');
  assert.equal(slow.status, 200, slow.text);

  // Where each conversation stood before the run: clients see everything after it.
  const baseline = {};
  for (const cid of convs) baseline[cid] = (await history(backends[0].base, tokens.alice, cid)).at(-1)?.seq ?? 0;

  // Four lanes send through both backends by turns, to both conversations. A send that fails (the
  // killed backend) is retried on the other backend with the same clientMessageId, so the
  // idempotency key is checked across instances; accepted = a 2xx answer.
  // Phase 1: 160 sends, backend 0 killed after the 40th is accepted and restarted at once.
  // Phase 2 (after the restart): 80 more, through both, the restarted one included.
  let limit = 160;
  const KILL_AT = 40;
  const accepted = new Map();  // clientMessageId -> message
  let next = 0;
  let killed = false;
  let restarted;
  let retriedAcross = 0;
  let replayed = 0;  // answered 200 "duplicate": the first try was committed, its answer lost
  const through = [0, 0, 0];  // accepted by backend 0 before the kill, backend 1, backend 0 restarted
  let generation0 = 0;
  let restartMs = 0;
  const send = async (b, token, body) => {
    try { return await api(backends[b].base, token, 'POST', '/chat/reply', body); } catch (e) { return { status: 0, text: String(e) }; }
  };
  const lane = async (l) => {
    for (;;) {
      const i = next++;
      if (i >= limit) return;
      const cid = convs[(i >> 1) % 2];
      const user = users[(i + l) % 2];  // alice and bob send; carol only reads
      const body = { conversationId: cid, message: `m${i} from ${user} (lane ${l})`, clientMessageId: `multi-${i}` };
      let b = i % 2;
      let r = await send(b, tokens[user], body);
      for (let attempt = 0; !(r.status >= 200 && r.status < 300) && attempt < 20; attempt++) {
        assert.ok(r.status === 0 || r.status >= 500, `send ${i}: ${r.status} ${r.text}`);
        b = 1 - b;
        retriedAcross++;
        r = await send(b, tokens[user], body);
        if (r.status === 0) await new Promise((res) => setTimeout(res, 200));  // both down: give the restart a moment
      }
      assert.ok(r.status >= 200 && r.status < 300, `send ${i} never accepted: ${r.status} ${r.text}`);
      assert.equal(r.json.message.text, body.message);
      if (r.json.duplicate) replayed++;
      through[b === 1 ? 1 : generation0 === 0 ? 0 : 2]++;
      accepted.set(body.clientMessageId, r.json.message);
      if (accepted.size >= KILL_AT && !killed) {
        killed = true;
        // SIGKILL with requests in flight, then a restart on the same database while the other
        // backend carries on.
        const victim = backends[0];
        victim.proc.kill('SIGKILL');
        restarted = (async () => {
          const t0 = Date.now();
          await victim.stop('SIGKILL');
          backends[0] = await track(startStub({ args: backendArgs }));
          generation0 = 1;
          restartMs = Date.now() - t0;
        })();
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(lane));
  assert.ok(killed, 'a backend was killed mid-run');
  await restarted;
  next = limit;  // each lane took one number past the limit when it stopped
  limit += 80;
  const phase2 = Date.now();
  await Promise.all([0, 1, 2, 3].map(lane));
  console.log(`multi-instance: phase 2 (80 sends) took ${Date.now() - phase2} ms`);
  assert.equal(accepted.size, limit);
  assert.ok(through[2] > 0 && through[1] > 0, `both backends took sends after the restart: ${through}`);

  // Both backends serve the same history: gap-free sequence numbers from 1, every accepted
  // message stored once, with the sequence number and text its sender was told.
  const histories = {};
  for (const cid of convs) {
    const h0 = await history(backends[0].base, tokens.carol, cid);
    const h1 = await history(backends[1].base, tokens.carol, cid);
    assert.deepEqual(h1, h0, `${cid}: both backends serve the same history`);
    assert.deepEqual(h0.map((m) => m.seq), h0.map((_, k) => k + 1), `${cid}: sequence numbers 1..n without gaps`);
    assert.equal(new Set(h0.map((m) => m.clientMessageId)).size, h0.length, `${cid}: each clientMessageId stored once`);
    histories[cid] = h0;
  }
  for (const m of accepted.values()) {
    const stored = histories[m.conversationId].find((h) => h.messageId === m.messageId);
    assert.ok(stored, `accepted ${m.clientMessageId} is in the history`);
    assert.equal(stored.seq, m.seq);
    assert.equal(stored.text, m.text);
  }

  // Every client sees every message after the baseline (every accepted one, and any committed
  // whose answer was lost in the kill). Waiting covers a dead backend's outbox lease (30 s).
  const expected = Object.fromEntries(convs.map((cid) => [cid, histories[cid].filter((m) => m.seq > baseline[cid])]));
  const distinct = (list) => [...new Map(list.map((m) => [m.messageId, m])).values()];
  const waitStart = Date.now();
  await waitFor(() => clients.every((cl) => convs.every((cid) => distinct(cl.got[cid]).length >= expected[cid].length)), 150000,
    () => clients.map((cl) => `${cl.user}: ` + convs.map((cid) => `${cid} ${distinct(cl.got[cid]).length}/${expected[cid].length}`).join(', ')).join('; '));

  const waited = Date.now() - waitStart;
  let redelivered = 0;
  for (const cl of clients) {
    for (const cid of convs) {
      const got = cl.got[cid];
      // In order: by first arrival, the sequence numbers run baseline+1.. without gaps, and the
      // messages are the stored ones.
      const first = distinct(got);
      assert.deepEqual(first.map((m) => m.seq), expected[cid].map((m) => m.seq), `${cl.user} ${cid}: every message, in sequence order`);
      assert.deepEqual(first.map((m) => [m.messageId, m.text]), expected[cid].map((m) => [m.messageId, m.text]));
      // Exactly once, as a client sees the conversation (it keeps one message per sequence
      // number): a second delivery can only be the outbox re-publishing a row whose publish was
      // not yet marked done when its backend died (at least once on the wire). Such a repeat is
      // the same message; it is counted and reported.
      for (const m of got.filter((m, k) => got.findIndex((o) => o.messageId === m.messageId) !== k)) {
        redelivered++;
        assert.deepEqual(m, first.find((f) => f.messageId === m.messageId), `${cl.user} ${cid}: a repeat is the same message`);
      }
    }
  }
  console.log(`multi-instance: ${accepted.size} accepted (backend 0 before the kill ${through[0]}, backend 1 ${through[1]}, ` +
    `backend 0 restarted ${through[2]}), ${retriedAcross} sends retried on the other backend, ${replayed} of them answered as ` +
    `duplicates (committed before the kill), ${clients.length} clients, ` +
    `${redelivered} repeated deliveries after the kill (client-side duplicates of one sequence number); restart took ${restartMs} ms; ` +
    `all delivered ${waited} ms after the last send`);
  // Nothing left behind: no pending row, none parked as dead, on the shared database.
  for (const b of backends) {
    let state;
    await waitFor(async () => (state = (await stubApi(b, 'GET', '/_stub/state')).json).outbox.pending === 0, 60000,
      () => JSON.stringify(state?.outbox));
    assert.equal(state.outbox.dead, 0, JSON.stringify(state.outbox));
  }
  // PostgreSQL's text cannot hold U+0000: a 400 with a reason at validation, not a 500.
  for (const [what, p, body] of [['message', '/chat/reply', { conversationId: 'demo', message: 'a\u0000b', clientMessageId: 'nul-pg' }],
    ['title', '/chat/conversations', { title: 't\u0000', members: ['bob'] }]]) {
    const r = await api(backends[1].base, tokens.alice, 'POST', p, body);
    assert.equal(r.status, 400, `${what} with NUL: ${r.status} ${r.text}`);
    assert.match(r.json.error.message, /NUL/);
  }
  for (const cl of clients) cl.close();
});

test('rate limits hold across instances: two backends on one PostgreSQL share a user\'s send bucket', { timeout: 120000 }, async () => {
  const url = process.env.CHAT_TEST_PG_URL;
  assert.ok(url, 'CHAT_TEST_PG_URL is not set: run this suite through tests/stub/with_postgres.sh (ctest does)');
  const parsed = new URL(url);
  process.env.PGPASSWORD = decodeURIComponent(parsed.password);
  parsed.password = '';
  const blobDir = mkdtempSync(path.join(tmpdir(), 'chat-multi-rate-blobs-'));
  dirs.push(blobDir);
  const service = await track(startStub({ args: ['--no-seed', '--quiet'] }));
  // 1 send a minute, burst 20 (the default): per process, two backends would accept 40.
  const args = ['--db', parsed.toString(), '--blob-dir', blobDir, '--pubsub-connection-string', service.connectionString,
    '--send-rate', '1', '--quiet'];
  const a = await track(startStub({ args }));
  const b = await track(startStub({ args }));
  const token = await login(a.base, 'bob');
  const statuses = [];
  let limited;
  // Alternating, and two at a time (one per backend), so the takes race on the shared row.
  for (let i = 0; i < 15; i++) {
    const rs = await Promise.all([a, b].map((s, k) =>
      api(s.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: `rate ${i}.${k}`, clientMessageId: `rate-${i}-${k}` })));
    for (const r of rs) {
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
  }
  const accepted = statuses.filter((s) => s === 201).length;
  assert.equal(accepted, 20, `the burst of 20 is shared by both backends: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 429).length, 10, `${statuses}`);
  assert.match(limited.text, /Too many messages/);
  // A replay of a stored message is answered (200, duplicate) even with the bucket empty.
  const replay = await api(b.base, token, 'POST', '/chat/reply', { conversationId: 'demo', message: 'rate 0.0', clientMessageId: 'rate-0-0' });
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.duplicate, true);
  // Another user's bucket is their own.
  const carol = await login(b.base, 'carol');
  const r = await api(a.base, carol, 'POST', '/chat/reply', { conversationId: 'demo', message: 'carol', clientMessageId: 'rate-carol' });
  assert.equal(r.status, 201, r.text);
  await a.stop();
  await b.stop();
  await service.stop();
});
