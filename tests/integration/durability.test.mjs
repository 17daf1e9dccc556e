// Durability: SIGKILL loses no committed message, and unpublished outbox rows go out after restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStub, login, api, stubApi } from '../lib/stub.mjs';
import { joinAs } from '../lib/ws.mjs';

test('kill -9 with an unpublished outbox, restart: rows are published to the group', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-durable-'));
  const db = path.join(dir, 'chat.db');
  let stub;
  try {
    stub = await startStub({ db });
    let alice = await login(stub.base, 'alice');
    // A known start: the demo seed's rows were published before the stub said "ready".
    assert.deepEqual((await stubApi(stub, 'GET', '/_stub/state')).json.outbox.pending, 0, 'the seed is published before ready');
    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?pause=true')).status, 200);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const r = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: `kept ${i}`, clientMessageId: `k${i}` });
      assert.equal(r.status, 201);
      ids.push(r.json.message.messageId);
    }
    let state = (await stubApi(stub, 'GET', '/_stub/state')).json;
    // Two rows per message, committed with it: the message for its group, the members' activity.
    assert.equal(state.outbox.pending, 6);
    await stub.stop('SIGKILL');

    stub = await startStub({ db, args: ['--outbox-paused'] });
    const bob = await login(stub.base, 'bob');
    const c = await joinAs(stub.base, bob, 'conversation:demo');
    assert.equal((await stubApi(stub, 'POST', '/_stub/outbox?pause=false')).status, 200);
    const got = [];
    while (got.length < 3) got.push((await c.next((f) => f.type === 'message' && f.from === 'group')).data.message.messageId);
    assert.deepEqual(got, ids, 'published in commit order after the restart');
    // The activity rows (published after their messages) drain too.
    for (let i = 0; i < 100 && (state = (await stubApi(stub, 'GET', '/_stub/state')).json).outbox.pending > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(state.outbox.pending, 0);
    const history = await api(stub.base, bob, 'GET', '/conversation/detail?conversationId=demo');
    for (const id of ids) assert.ok(history.json.messages.some((m) => m.messageId === id));
    c.close();
  } finally {
    await stub?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 during a burst of sends: every acknowledged message survives', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-durable-'));
  const db = path.join(dir, 'chat.db');
  try {
    let stub = await startStub({ db });
    const alice = await login(stub.base, 'alice');
    const acked = [];
    let n = 0;
    // Four lanes send back to back; the server is killed once 20 sends were acknowledged, so
    // several requests are in flight at that moment.
    const lane = async () => {
      for (;;) {
        const i = n++;
        if (i >= 200) return;
        try {
          const r = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: `burst ${i}`, clientMessageId: `b${i}` });
          if (r.status !== 201) return;
          acked.push(r.json.message);
          if (acked.length === 20) stub.proc.kill('SIGKILL');
        } catch { return; }
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    await stub.stop('SIGKILL');
    assert.ok(acked.length > 0, 'some sends were acknowledged before the kill');

    stub = await startStub({ db });
    const bob = await login(stub.base, 'bob');
    const history = await api(stub.base, bob, 'GET', '/conversation/detail?conversationId=demo&limit=200');
    const stored = new Map(history.json.messages.map((m) => [m.messageId, m]));
    for (const m of acked) {
      assert.ok(stored.has(m.messageId), `acknowledged ${m.messageId} survived`);
      assert.equal(stored.get(m.messageId).seq, m.seq);
    }
    const seqs = history.json.messages.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs.keys()].map((i) => i + 1), 'sequence numbers have no holes');
    // Retrying a send whose answer was lost returns the stored message, never a second copy.
    const retry = await api(stub.base, alice, 'POST', '/chat/reply', { conversationId: 'demo', message: 'burst 0', clientMessageId: 'b0' });
    assert.ok(retry.status === 200 || retry.status === 201);
    const after = await api(stub.base, bob, 'GET', '/conversation/detail?conversationId=demo&limit=200');
    assert.equal(after.json.messages.filter((m) => m.clientMessageId === 'b0').length, 1);
    await stub.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
