// Fan-out cost of one durable chat message to a conversation of 100 members (issue 17), measured
// as the stub's own CPU time (utime + stime from /proc, so the load generator sharing the cores
// does not count) and the frames clients receive, per message, in one run:
//   all-viewing   100 member connections subscribed to the conversation (POST /chat/subscribe):
//                 each gets the message in the group and no activity event
//   few-viewing   5 subscribed; the other 95 get the small conversation.activity on their user
//                 channel instead (what keeps badges live without a group per conversation)
//   joined-all    the design before issue 17: every member joined the conversation group with an
//                 access-URL grant (no subscription call), as the old client did for <= 32 groups
//   rest-direct   peer: the same 100 connections, a direct REST group send (no store, no outbox)
// Then connections per tab: N Chromium tabs of the app against the stub, connections counted.
import { readFileSync } from 'node:fs';
import { startStub, login, api, rest } from '../tests/lib/stub.mjs';
import { connect } from '../tests/lib/ws.mjs';

const MEMBERS = 100;
const MESSAGES = Number(process.env.BENCH_MESSAGES || 300);
const TABS = Number(process.env.BENCH_TABS || 10);

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;  // clock ticks of 10 ms
};

async function openAll(stub, tokens, groups) {
  const conns = [];
  for (const t of tokens) {
    const url = (await api(stub.base, t, 'POST', '/realtime/clientAccessUrl', { groups })).json.url;
    const c = await connect(url);
    c.id = (await c.next((f) => f.event === 'connected')).connectionId;
    c.count = 0;
    c.ws.on('message', () => { c.count++; });
    c.frames.length = 0;
    conns.push(c);
  }
  return conns;
}

async function measure(stub, conns, send, expectFrames) {
  for (const c of conns) { c.count = 0; c.frames.length = 0; }
  const before = cpuMs(stub.proc.pid);
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < MESSAGES) await send(next++);
  }));
  const total = () => conns.reduce((n, c) => n + c.count, 0);
  for (let i = 0; i < 600 && total() < expectFrames; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));  // anything beyond the expected frames
  const cpu = cpuMs(stub.proc.pid) - before;
  return { cpuUsPerMessage: (cpu * 1000) / MESSAGES, framesPerMessage: total() / MESSAGES };
}

const stub = await startStub({ args: ['--demo-users', String(MEMBERS), '--send-rate', '0', '--create-rate', '0', '--quiet'] });
const results = {};
try {
  const users = Array.from({ length: MEMBERS }, (_, i) => `user-${i + 1}`);
  const tokens = [];
  for (const u of users) tokens.push(await login(stub.base, u));
  const sender = tokens[0];
  const room = (await api(stub.base, sender, 'POST', '/chat/conversations', { title: 'Bench', members: users.slice(1) })).json.conversation.conversationId;
  const group = `conversation:${room}`;
  const say = (i) => api(stub.base, sender, 'POST', '/chat/reply', { conversationId: room, message: `bench message ${i}`, clientMessageId: `b-${Date.now()}-${i}` });

  let conns = await openAll(stub, tokens, []);
  for (const [i, c] of conns.entries())
    if ((await api(stub.base, tokens[i], 'POST', '/chat/subscribe', { connectionId: c.id, conversationId: room })).status !== 200) throw new Error('subscribe');
  results['all-viewing'] = await measure(stub, conns, say, MEMBERS * MESSAGES);
  for (const [i, c] of conns.entries())
    if (i >= 5) await api(stub.base, tokens[i], 'POST', '/chat/subscribe', { connectionId: c.id, conversationId: null, previousConversationId: room });
  results['few-viewing'] = await measure(stub, conns, say, MEMBERS * MESSAGES);
  for (const c of conns) c.close();

  conns = await openAll(stub, tokens, [group]);
  for (const c of conns) {
    c.send({ type: 'joinGroup', group, ackId: 1 });
    await c.next((f) => f.type === 'ack' && f.ackId === 1);
  }
  results['joined-all (before)'] = await measure(stub, conns, say, MEMBERS * MESSAGES);
  const payload = { type: 'chat.message', message: { text: 'direct' } };
  results['rest-direct (peer)'] = await measure(stub, conns, (i) => rest(stub, 'POST', `/api/hubs/chat/groups/${encodeURIComponent(group)}/:send?api-version=2024-12-01`, { ...payload, i }), MEMBERS * MESSAGES);
  for (const c of conns) c.close();

  // Connections per tab, measured with the real app in Chromium.
  const { launch } = await import('../tests/lib/browser.mjs');
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    for (let i = 0; i < TABS; i++) {
      const page = await context.newPage();
      await page.goto(`${stub.base}/?user=${users[i]}`);
      await page.waitFor(() => document.getElementById('chat-status')?.textContent === 'connected', null, { timeout: 60000 });
    }
    const { json } = await (await import('../tests/lib/stub.mjs')).stubApi(stub, 'GET', '/_stub/state');
    const sockets = json.connections.filter((c) => c.attached && users.slice(0, TABS).includes(c.userId)).length;
    results.tabs = { tabs: TABS, connections: sockets, perThousandTabs: Math.round((sockets / TABS) * 1000), before: 2000 };
    await context.close();
  } finally { await browser.close(); }
} finally { await stub.stop(); }

const peer = results['rest-direct (peer)'].cpuUsPerMessage;
console.log(`fan-out of one message to ${MEMBERS} members, ${MESSAGES} messages each (stub CPU per message, frames received per message):`);
for (const [name, r] of Object.entries(results)) {
  if (name === 'tabs') continue;
  console.log(`  ${name.padEnd(22)} ${r.cpuUsPerMessage.toFixed(0).padStart(6)} us  ${r.framesPerMessage.toFixed(1).padStart(6)} frames  ${(r.cpuUsPerMessage / peer).toFixed(2)}x rest-direct`);
}
const t = results.tabs;
console.log(`connections: ${t.tabs} tabs hold ${t.connections} (${t.perThousandTabs} per 1,000 tabs; ${t.before} before: one chat and one notification socket each)`);
