// OData filters in the emulator's REST data plane, through the official server SDK
// (@azure/web-pubsub): filtered sends to all, to a group and to a user, filter-based group changes
// (addConnectionsToGroups / removeConnectionsFromGroups), and the 400 a bad filter gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubServiceClient, odata } from '@azure/web-pubsub';
import { startStub, rest } from '../lib/stub.mjs';
import { connect } from '../lib/ws.mjs';

const HUB = 'odata';
let stub;
let service;
before(async () => {
  stub = await startStub();
  service = new WebPubSubServiceClient(stub.connectionString, HUB, { allowInsecureConnection: true });
});
after(async () => { await stub?.stop(); });

// A json-subprotocol connection with the server SDK's client token; `name` labels it in results.
async function client(name, { userId, groups } = {}) {
  const { url } = await service.getClientAccessToken({ userId, groups });
  const c = await connect(url);
  const hello = await c.next((f) => f.type === 'system' && f.event === 'connected');
  return Object.assign(c, { name, id: hello.connectionId });
}

// The names of the clients that received text `data`. A marker sent to all afterwards proves the
// absence too: one connection's messages arrive in order, so once a client has the marker it has
// everything sent before it.
async function whoGot(clients, data) {
  const marker = `after ${data}`;
  await service.sendToAll(marker, { contentType: 'text/plain' });
  const got = [];
  for (const c of clients) {
    await c.next((f) => f.type === 'message' && f.data === marker);
    const copies = c.frames.filter((f) => f.type === 'message' && f.data === data).length;
    assert.ok(copies <= 1, `${c.name} got ${data} ${copies} times`);
    if (copies) got.push(c.name);
    c.frames.length = 0;
  }
  return got.sort();
}

const closeAll = async (clients) => { for (const c of clients) { c.close(); await c.closed; } };

test('sendToAll, group sendToAll and sendToUser with a filter reach only the matching connections', async () => {
  const alice = await client('alice', { userId: 'alice', groups: ['g'] });
  const alice2 = await client('alice2', { userId: 'alice' });
  const bob = await client('bob', { userId: 'bob' });
  const carol = await client('carol', { userId: 'carol', groups: ['g', 'vip'] });
  const quote = await client("o'brien", { userId: "o'brien" });
  const anon = await client('anonymous');
  const all = [alice, alice2, bob, carol, quote, anon];
  try {
    const cases = [
      ["userId in ('alice', 'bob')", ['alice', 'alice2', 'bob']],
      ["'g' in groups", ['alice', 'carol']],
      ["not ('g' in groups)", ['alice2', 'anonymous', 'bob', "o'brien"]],
      ["'g' in groups and not('vip' in groups)", ['alice']],
      ['userId eq null', ['anonymous']],
      [odata`userId eq ${"o'brien"}`, ["o'brien"]],                 // the SDK's own quoting helper
      ["startswith(userId, 'a') or length(userId) eq 3", ['alice', 'alice2', 'bob']],
      [`connectionId eq '${bob.id}'`, ['bob']],
      ["USERID eq 'carol'", ['carol']],                             // identifier names: any case
      ["userId eq 'CAROL'", []],                                    // values: exact
      ['false', []],
    ];
    for (const [filter, expected] of cases) {
      const data = `to all where ${filter}`;
      await service.sendToAll(data, { contentType: 'text/plain', filter });
      assert.deepEqual(await whoGot(all, data), expected.sort(), filter);
    }
    // excluded and filter together
    await service.sendToAll('excluded too', { contentType: 'text/plain', filter: "userId eq 'alice'", excludedConnections: [alice2.id] });
    assert.deepEqual(await whoGot(all, 'excluded too'), ['alice']);

    // a group send: the filter narrows the members, never adds others
    await service.group('g').sendToAll('to g', { contentType: 'text/plain', filter: "userId ne 'alice'" });
    assert.deepEqual(await whoGot(all, 'to g'), ['carol']);
    await service.group('g').sendToAll('to g, vip', { contentType: 'text/plain', filter: "'vip' in groups or userId eq 'bob'" });
    assert.deepEqual(await whoGot(all, 'to g, vip'), ['carol']);

    // a user send: one of alice's two connections
    await service.sendToUser('alice', 'to alice2', { contentType: 'text/plain', filter: `connectionId eq '${alice2.id}'` });
    assert.deepEqual(await whoGot(all, 'to alice2'), ['alice2']);

    // JSON payloads take the filter too
    await service.sendToAll({ n: 1 }, { filter: "userId eq 'bob'" });
    const m = await bob.next((f) => f.type === 'message' && f.dataType === 'json');
    assert.deepEqual(m.data, { n: 1 });
  } finally {
    await closeAll(all);
  }
});

test('addConnectionsToGroups / removeConnectionsFromGroups change only the connections the filter matches', async () => {
  const alice = await client('alice', { userId: 'alice' });
  const bob = await client('bob', { userId: 'bob' });
  const all = [alice, bob];
  try {
    // The pattern a backend uses to act for a user on one connection: the connection must be theirs.
    const owned = (id, userId) => odata`connectionId eq ${id} and userId eq ${userId}`;
    await service.addConnectionsToGroups(['team', 'news'], owned(alice.id, 'alice'));
    assert.equal(await service.groupExists('team'), true);
    // (this SDK version resolves the generated operation's single page, not an async iterator)
    const listed = await service.group('team').listConnections();
    const members = [];
    for await (const m of (listed[Symbol.asyncIterator] ? listed : (listed.value ?? listed))) members.push({ ...m });
    assert.deepEqual(members, [{ connectionId: alice.id, userId: 'alice' }]);
    await service.group('news').sendToAll('news', { contentType: 'text/plain' });
    assert.deepEqual(await whoGot(all, 'news'), ['alice']);

    // alice naming bob's connection: nothing matches, nothing is added
    await service.addConnectionsToGroups(['stolen'], owned(bob.id, 'alice'));
    assert.equal(await service.groupExists('stolen'), false);
    await service.group('stolen').sendToAll('stolen', { contentType: 'text/plain' });
    assert.deepEqual(await whoGot(all, 'stolen'), []);

    // removal takes the same filter: bob's connection named with alice's user removes nothing
    await service.addConnectionsToGroups(['team'], owned(bob.id, 'bob'));
    await service.removeConnectionsFromGroups(['team'], owned(bob.id, 'alice'));
    await service.group('team').sendToAll('team', { contentType: 'text/plain' });
    assert.deepEqual(await whoGot(all, 'team'), ['alice', 'bob']);
    await service.removeConnectionsFromGroups(['team', 'news'], owned(alice.id, 'alice'));
    await service.group('team').sendToAll('team again', { contentType: 'text/plain' });
    assert.deepEqual(await whoGot(all, 'team again'), ['bob']);
    assert.equal(await service.groupExists('news'), false);

    // a filter over groups: everyone in 'team' also joins 'team-b'
    await service.addConnectionsToGroups(['team-b'], "'team' in groups");
    await service.group('team-b').sendToAll('team-b', { contentType: 'text/plain' });
    assert.deepEqual(await whoGot(all, 'team-b'), ['bob']);
  } finally {
    await closeAll(all);
  }
});

test('a bad filter is a 400 that says what and where, and changes nothing', async () => {
  const alice = await client('alice', { userId: 'alice' });
  try {
    const refused = async (promise, says) => {
      await assert.rejects(promise, (e) => {
        assert.equal(e.statusCode, 400);
        assert.match(e.response?.bodyAsText ?? '', says);
        return true;
      });
    };
    await refused(service.sendToAll('x', { contentType: 'text/plain', filter: 'userId eq' }),
      /Invalid filter at position 9 \(at the end\): expected a value/);
    await refused(service.group('g').sendToAll('x', { contentType: 'text/plain', filter: "userId == 'a'" }),
      /comparison operators are written eq, ne, gt, ge, lt, le/);
    await refused(service.sendToUser('alice', 'x', { contentType: 'text/plain', filter: 'not length(userId) gt 5' }),
      /'not' applies to the operand right after it/);
    await refused(service.addConnectionsToGroups(['g'], "userId eqq 'alice'"), /Invalid filter at position 7/);
    await refused(service.removeConnectionsFromGroups(['g'], '('.repeat(65) + 'true' + ')'.repeat(65)), /nests deeper than 64 levels/);
    await refused(service.addConnectionsToGroups([], 'true'), /group names/);
    assert.equal(await service.groupExists('g'), false);

    // Where the API takes no filter, one is refused rather than ignored: this close would
    // otherwise have closed every connection.
    const closing = await rest(stub, 'POST', `/api/hubs/${HUB}/:closeConnections?api-version=2024-12-01&filter=${encodeURIComponent("userId eq 'nobody'")}`);
    assert.equal(closing.status, 400);
    assert.match(closing.json.error.message, /applies only to sends/);
    assert.equal(await service.connectionExists(alice.id), true);

    // Oversized text: refused with the limit named.
    const big = await rest(stub, 'POST', `/api/hubs/${HUB}/:addToGroups?api-version=2024-12-01`,
      { groups: ['g'], filter: `userId eq '${'x'.repeat(70000)}'` });
    assert.equal(big.status, 400);
    assert.match(big.json.error.message, /the emulator takes at most 65536/);
    assert.equal(await service.groupExists('g'), false);
  } finally {
    await closeAll([alice]);
  }
});
