// Helper processes for the browser drivers (Xvfb, WebKitWebDriver), tied to this test process:
// each runs under a small shell that holds a pipe from node and ends the helper's whole process
// group when that pipe closes, so a test process that exits, crashes or is killed by ctest's
// timeout leaves nothing behind. (Firefox and MiniBrowser are X clients of the private display:
// they end with it.)
import { spawn } from 'node:child_process';

// Starts `cmd args` in its own process group. Resolves { proc, pid, stdout(), stop() }.
export function spawnTied(cmd, args, { env = process.env } = {}) {
  const script = 'setsid "$@" <&- & c=$!; read _; kill -TERM -"$c" 2>/dev/null; '
    + 'i=0; while kill -0 -"$c" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -"$c" 2>/dev/null; wait "$c" 2>/dev/null; exit 0';
  const proc = spawn('/bin/sh', ['-c', script, 'tied', cmd, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  live.add(proc);
  exited.then(() => live.delete(proc));
  return {
    proc,
    exited,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.stdin.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const live = new Set();
// A normal exit closes the pipes anyway; this only makes the helpers go first.
process.on('exit', () => { for (const p of live) try { p.stdin.end(); } catch { /* gone */ } });

// Where windows go on the display: four tiles, so the windows of different people (contexts)
// sit side by side as on their own screens, instead of covering each other (Firefox reports a
// covered window as hidden, and a hidden page stops drawing).
function tiler() {
  const used = [false, false, false, false];
  return {
    take() {
      const i = used.indexOf(false);
      if (i < 0) return { x: 0, y: 0, release() {} };
      used[i] = true;
      return { x: (i % 2) * 1300, y: Math.floor(i / 2) * 1200, release() { used[i] = false; } };
    },
  };
}

// A private X display for one browser run (`BROWSER_DISPLAY=:N` uses an existing one instead).
// Large enough for an 800x600 window at device pixel ratio 3.
export async function startDisplay() {
  if (process.env.BROWSER_DISPLAY) return { display: process.env.BROWSER_DISPLAY, tiles: tiler(), stop: async () => {} };
  const x = spawnTied('Xvfb', ['-displayfd', '1', '-screen', '0', '2600x2400x24', '-nolisten', 'tcp', '-noreset']);
  const display = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start:\n${x.stderr()}`)), 20000);
    x.proc.stdout.on('data', () => {
      const m = x.stdout().match(/^(\d+)\n/);
      if (m) { clearTimeout(timer); resolve(`:${m[1]}`); }
    });
    x.exited.then(() => { clearTimeout(timer); reject(new Error(`Xvfb exited:\n${x.stderr()}`)); });
  });
  return { display, tiles: tiler(), stop: () => x.stop() };
}

// A free TCP port on the loopback interface.
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
