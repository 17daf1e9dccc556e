// Compatibility: the official Azure Web PubSub SDKs against the stub's embedded emulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import { startStub } from '../lib/stub.mjs';

let stub;
let service;
before(async () => {
  stub = await startStub();
  // Over plain http the server SDK needs allowInsecureConnection (shared/TOOLCHAIN.md).
  service = new WebPubSubServiceClient(stub.connectionString, 'chat', { allowInsecureConnection: true });
});
after(async () => { await stub?.stop(); });

function waitFor(emitter, event, pred = () => true, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} in time`)), timeout);
    const h = (e) => { if (pred(e)) { clearTimeout(t); emitter.off(event, h); resolve(e); } };
    emitter.on(event, h);
  });
}

for (const [name, protocol] of [['reliable (default)', undefined], ['json', WebPubSubJsonProtocol()]]) {
  test(`server SDK token + client SDK join/send/receive, ${name} protocol`, async () => {
    const { url } = await service.getClientAccessToken({ userId: 'sdk-user', roles: ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'] });
    const client = new WebPubSubClient(url, protocol ? { protocol } : {});
    const connected = waitFor(client, 'connected');
    await client.start();
    const c = await connected;
    assert.equal(c.userId, 'sdk-user');
    assert.ok(c.connectionId);
    await client.joinGroup('room1');

    // Server SDK -> group (JSON), text to the user, and to all.
    let got = waitFor(client, 'group-message', (e) => e.message.group === 'room1');
    await service.group('room1').sendToAll({ hello: 'world' });
    assert.deepEqual((await got).message.data, { hello: 'world' });
    got = waitFor(client, 'server-message');
    await service.sendToUser('sdk-user', 'just you', { contentType: 'text/plain' });
    const sm = await got;
    assert.equal(sm.message.dataType, 'text');
    assert.equal(sm.message.data, 'just you');
    got = waitFor(client, 'server-message');
    await service.sendToAll('everyone', { contentType: 'text/plain' });
    assert.equal((await got).message.data, 'everyone');

    // Client SDK sends with acks, and receives its own group message.
    got = waitFor(client, 'group-message', (e) => e.message.data === 'from the client');
    const res = await client.sendToGroup('room1', 'from the client', 'text');
    assert.equal(typeof res.ackId, 'number');
    assert.equal(res.isDuplicated, false);
    assert.equal((await got).message.fromUserId, 'sdk-user');
    // Same ackId again: the service reports a duplicate, the SDK treats it as success.
    const dup = await client.sendToGroup('room1', 'again', 'text', { ackId: res.ackId });
    assert.equal(dup.isDuplicated, true);

    // Existence checks and REST close.
    assert.equal(await service.userExists('sdk-user'), true);
    assert.equal(await service.groupExists('room1'), true);
    assert.equal(await service.connectionExists(c.connectionId), true);
    assert.equal(await service.userExists('nobody'), false);
    const stopped = waitFor(client, 'stopped', () => true, 10000);
    client.stop();
    await stopped;
  });
}

test('client SDK without a send role gets Forbidden', async () => {
  const { url } = await service.getClientAccessToken({ userId: 'reader', roles: ['webpubsub.joinLeaveGroup.news'] });
  const client = new WebPubSubClient(url);
  await client.start();
  await client.joinGroup('news');
  await assert.rejects(client.sendToGroup('news', 'x', 'text'), (e) => e.errorDetail?.name === 'Forbidden');
  await assert.rejects(client.joinGroup('other'), (e) => e.errorDetail?.name === 'Forbidden');
  client.stop();
});

test('REST group membership and connection close through the server SDK', async () => {
  const { url } = await service.getClientAccessToken({ userId: 'member' });
  const client = new WebPubSubClient(url, { autoReconnect: false });
  const connected = waitFor(client, 'connected');
  await client.start();
  const { connectionId } = await connected;
  await service.group('ops').addConnection(connectionId);
  const got = waitFor(client, 'group-message');
  await service.group('ops').sendToAll('added by the server', { contentType: 'text/plain' });
  assert.equal((await got).message.data, 'added by the server');
  await service.group('ops').removeConnection(connectionId);
  assert.equal(await service.groupExists('ops'), false);
  const stopped = waitFor(client, 'stopped', () => true, 10000);
  await service.closeConnection(connectionId, { reason: 'bye' });
  await stopped;
  assert.equal(await service.connectionExists(connectionId), false);
});

test('a server SDK token signed with another key is refused', async () => {
  const other = new WebPubSubServiceClient(stub.connectionString.replace(/AccessKey=[^;]+/, 'AccessKey=' + 'x'.repeat(40)), 'chat', { allowInsecureConnection: true });
  await assert.rejects(other.sendToAll('nope', { contentType: 'text/plain' }), (e) => e.statusCode === 401);
});

test('REST data plane: every operation through the server SDK', async () => {
  const tok = async (userId, roles = []) => (await service.getClientAccessToken({ userId, roles })).url;
  const start = async (url) => {
    const client = new WebPubSubClient(url, { autoReconnect: false });
    const connected = waitFor(client, 'connected');
    await client.start();
    return { client, id: (await connected).connectionId };
  };
  const u1 = await start(await tok('u1', ['webpubsub.joinLeaveGroup']));
  const u2 = await start(await tok('u2'));

  // Send to one connection, with excluded connections for group sends, binary payloads.
  let got = waitFor(u2.client, 'server-message');
  await service.sendToConnection(u2.id, 'direct', { contentType: 'text/plain' });
  assert.equal((await got).message.data, 'direct');
  await service.group('g').addConnection(u1.id);
  await service.group('g').addConnection(u2.id);
  const listed = await service.group('g').listConnections();
  const ids = [];
  for await (const c of (listed[Symbol.asyncIterator] ? listed : (listed.value ?? listed))) ids.push(c.connectionId);
  assert.deepEqual(ids.sort(), [u1.id, u2.id].sort());
  got = waitFor(u1.client, 'group-message');
  const u2got = [];
  u2.client.on('group-message', (e) => u2got.push(e));
  await service.group('g').sendToAll(new Uint8Array([1, 2, 3]), { excludedConnections: [u2.id] });
  const bin = await got;
  assert.equal(bin.message.dataType, 'binary');
  assert.deepEqual([...new Uint8Array(bin.message.data)], [1, 2, 3]);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(u2got.length, 0, 'excluded connection got nothing');

  // User-level group membership.
  await service.group('h').addUser('u2');
  got = waitFor(u2.client, 'group-message', (e) => e.message.group === 'h');
  await service.group('h').sendToAll('to h', { contentType: 'text/plain' });
  assert.equal((await got).message.data, 'to h');
  await service.group('h').removeUser('u2');
  assert.equal(await service.groupExists('h'), false);
  await service.removeUserFromAllGroups('u2');
  assert.equal(await service.groupExists('g'), true, 'u1 is still in g');
  await service.removeConnectionFromAllGroups(u1.id);
  assert.equal(await service.groupExists('g'), false);

  // Permissions granted at runtime.
  assert.equal(await service.hasPermission(u2.id, 'sendToGroup', { targetName: 'p' }), false);
  await service.grantPermission(u2.id, 'sendToGroup', { targetName: 'p' });
  assert.equal(await service.hasPermission(u2.id, 'sendToGroup', { targetName: 'p' }), true);
  await u2.client.sendToGroup('p', 'allowed now', 'text');
  await service.revokePermission(u2.id, 'sendToGroup', { targetName: 'p' });
  assert.equal(await service.hasPermission(u2.id, 'sendToGroup', { targetName: 'p' }), false);
  await assert.rejects(u2.client.sendToGroup('p', 'no longer', 'text', { ackId: 777 }), (e) => e.errorDetail?.name === 'Forbidden');

  // No event handler is configured (the stub has no upstream): the event is acknowledged with
  // InternalServerError, as Microsoft's emulator does (docs/EMULATOR.md); the SDK rejects it after
  // its retries, and the connection stays usable.
  await assert.rejects(u1.client.sendEvent('typing', { on: true }, 'json'),
    (e) => e.errorDetail?.name === 'InternalServerError' && /No event handler/.test(e.errorDetail.message));
  got = waitFor(u1.client, 'server-message');
  await service.sendToConnection(u1.id, 'still connected', { contentType: 'text/plain' });
  assert.equal((await got).message.data, 'still connected');

  // Close a user's connections, then everyone's.
  const stopped2 = waitFor(u2.client, 'stopped', () => true, 10000);
  await service.closeUserConnections('u2', { reason: 'bye u2' });
  await stopped2;
  assert.equal(await service.userExists('u2'), false);
  const stopped1 = waitFor(u1.client, 'stopped', () => true, 10000);
  await service.closeAllConnections({ reason: 'maintenance' });
  await stopped1;
  assert.equal(await service.userExists('u1'), false);
});
