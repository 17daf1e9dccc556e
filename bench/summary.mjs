// Issue 14's seven targets as one table: reads the lines the benchmarks reported (bench/report.mjs,
// the file named by BENCH_RESULTS), prints the table, and with --write replaces the summary block
// of docs/BENCHMARKS.md (between its begin and end markers) with it, the date, the commit and the
// command. A target a step did not report is listed as not measured, never as met.
//   node bench/summary.mjs RESULTS [--write DOC] [--command TEXT]
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const file = args[0];
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const doc = opt('--write');
const command = opt('--command') || 'scripts/bench';

const TARGETS = [
  ['1', 'tti', 'time to a live panel (10,000 messages) vs the official SDK page'],
  ['2', 'transfer', 'page transfer, cold load, gzip vs 200 KB'],
  ['3', 'fanout_peer', 'server CPU per delivery, 1,000 connections: Node ws / ours ("x less")'],
  ['4a', 'durable_path', 'server CPU per message, durable vs direct send'],
  ['4b', 'durable_path', 'p99 latency to the other client, durable vs direct'],
  ['5', 'ingest', 'client ingest, frames/s vs the official SDK'],
  ['6a', 'ui', 'one live message, 100,000 vs 100 held'],
  ['6b', 'ui', 'frame cost, 100,000 vs 100 held'],
  ['7', 'fanout_peer', 'server RSS per idle connection vs Node ws'],
];

const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const got = new Map(lines.map((l) => [l.target, l]));
const num = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const rows = TARGETS.map(([t, step, figure]) => {
  const r = got.get(t);
  if (!r) return [t, figure, '-', '-', '-', '-', `not measured (step ${step} not run)`];
  // Two decimals, or three where two would print the bound itself (1.504 is not "1.50 <= 1.5").
  const bound = Number(r.goal.split(' ')[1]);
  const ratio = Number(r.ratio.toFixed(2)) === bound && r.ratio !== bound ? r.ratio.toFixed(3) : r.ratio.toFixed(2);
  return [t, figure, `${num(r.ours)} ${r.unit}`, `${num(r.peer)} ${r.unit}`, `${ratio}x`, r.goal + 'x', r.met ? 'met' : 'NOT met'];
});
const head = ['target', 'figure', 'ours', 'peer', 'ratio', 'goal', ''];

const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const text = [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
console.log('== issue 14: the seven targets, each a ratio measured in this run');
console.log(text);

if (doc) {
  const begin = '<!-- bench:summary:begin (written by scripts/bench) -->';
  const end = '<!-- bench:summary:end -->';
  const md = readFileSync(doc, 'utf8');
  const a = md.indexOf(begin), b = md.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${doc}: no summary block (${begin} ... ${end})`);
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch { /* not a checkout */ }
  // The figures are claims about a commit: one with uncommitted changes is no commit to name.
  if (commit.endsWith('-dirty') && !process.env.BENCH_WRITE_DIRTY) {
    console.log(`(not written to ${doc}: the tree has uncommitted changes; commit them and run again)`);
    process.exit(0);
  }
  const date = new Date().toISOString().slice(0, 10);
  const table = ['| ' + head.join(' | ') + ' |', '|' + head.map(() => '---').join('|') + '|', ...rows.map((r) => '| ' + r.join(' | ') + ' |')];
  const block = [begin, '', `Command: \`${command}\` (${date}, commit ${commit})`, '', ...table, '', end].join('\n');
  writeFileSync(doc, md.slice(0, a) + block + md.slice(b + end.length));
  console.log(`(written to ${doc})`);
}
