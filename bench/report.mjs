// One line of issue 14's summary table, from the benchmark that measured it: appended as JSON to
// the file named by BENCH_RESULTS (scripts/bench sets it; bench/summary.mjs prints the table and
// writes it into docs/BENCHMARKS.md). Without BENCH_RESULTS (a benchmark run on its own) nothing
// is written.
//   target   issue 14's target number, and a letter where a target has two figures (4a, 4b)
//   figure   what was measured
//   ours, peer, unit   the two measurements (peer: the peer's, or the target's fixed figure)
//   ratio    the ratio the target is stated in; goal: '<=' or '>=' and its bound
import { appendFileSync } from 'node:fs';

export function report({ target, figure, ours, peer, unit, ratio, goal }) {
  const [op, bound] = goal;
  if (!['<=', '>='].includes(op) || !Number.isFinite(bound) || !Number.isFinite(ratio))
    throw new Error(`bench report ${target}: bad ratio ${ratio} or goal ${JSON.stringify(goal)}`);
  const met = op === '<=' ? ratio <= bound : ratio >= bound;
  const line = { target: String(target), figure, ours, peer, unit, ratio, goal: `${op} ${bound}`, met };
  if (process.env.BENCH_RESULTS) appendFileSync(process.env.BENCH_RESULTS, JSON.stringify(line) + '\n');
  return line;
}
