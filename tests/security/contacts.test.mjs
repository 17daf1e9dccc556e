// GET /chat/contacts (whom a user may pick for a new conversation), tried as an attacker would:
// it needs a valid session, answers only ids and display names, and only for people the caller
// already shares a conversation or a team with, never the whole directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStub, login, api } from '../lib/stub.mjs';

let stub;
before(async () => { stub = await startStub({ args: ['--demo-users', '3'] }); });
after(async () => { await stub?.stop(); });

const contacts = async (token) => {
  const r = await api(stub.base, token, 'GET', '/chat/contacts');
  assert.equal(r.status, 200, r.text);
  return r.json.users;
};

test('no session or a forged one: 401, and no names', async () => {
  for (const auth of [undefined, 'Bearer ', 'Bearer not-a-jwt', 'Basic YWxpY2U6eA==',
    // alg "none" with sub alice: refused like every other unsigned token
    'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6ImNoYXQtYXBwIn0.']) {
    const r = await fetch(`${stub.base}/chat/contacts`, { headers: auth ? { Authorization: auth } : {} });
    assert.equal(r.status, 401, `${auth}: ${r.status}`);
    const text = await r.text();
    assert.doesNotMatch(text, /Bob Chen|Carol Diaz/);
  }
});

test('only ids and display names, never the caller, sorted by name', async () => {
  const alice = await login(stub.base, 'alice');
  const users = await contacts(alice);
  // bob (team core, the demo conversation), carol (the demo conversation).
  assert.deepEqual(users, [{ userId: 'bob', displayName: 'Bob Chen' }, { userId: 'carol', displayName: 'Carol Diaz' }]);
  for (const u of users) assert.deepEqual(Object.keys(u).sort(), ['displayName', 'userId']);
});

test('not the whole directory: people one shares nothing with stay unlisted until a conversation is shared', async () => {
  const u1 = await login(stub.base, 'user-1');
  // user-1 shares the team "load" with user-2 and user-3 and nothing with alice, bob or carol.
  assert.deepEqual((await contacts(u1)).map((u) => u.userId), ['user-2', 'user-3']);
  const carol = await login(stub.base, 'carol');
  assert.ok(!(await contacts(carol)).some((u) => u.userId.startsWith('user-')), 'carol sees no load-test user');
  // Once carol starts a conversation with user-1, each may pick the other.
  const r = await api(stub.base, carol, 'POST', '/chat/conversations', { title: 'Hello', members: ['user-1'] });
  assert.equal(r.status, 201, r.text);
  assert.ok((await contacts(carol)).some((u) => u.userId === 'user-1'));
  assert.ok((await contacts(u1)).some((u) => u.userId === 'carol'));
});

test('other methods are refused and the server keeps serving', async () => {
  const alice = await login(stub.base, 'alice');
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await api(stub.base, alice, method, '/chat/contacts', {});
    assert.equal(r.status, 405, `${method}: ${r.text}`);
  }
  assert.equal((await contacts(alice)).length, 2);
});
