// The services as child processes, each started from its built main.js with the environment of one
// isolated system: the same shape as a deployment, and the system never shares an event loop (or a CPU
// profile) with the benchmark.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const SERVICE_MAINS = {
  gateway: { script: 'services/gateway/dist/main.js', ready: 'gateway listening' },
  reservation: { script: 'services/reservation/dist/main.js', ready: 'reservation consuming item-commands' },
  'stream-processor': {
    script: 'services/stream-processor/dist/main.js',
    ready: 'stream-processor consuming item-events',
  },
  'bare-fastify': { script: 'bench/lib/bare-fastify.mjs', ready: 'bare fastify listening' },
};

/**
 * Settings given to every service of every scenario, to compare them in otherwise identical runs:
 * `BENCH_SERVICE_ENV='{"KAFKA_FETCH_INTERVAL_MS":"0"}' npm run bench -- --only realistic`.
 */
const SERVICE_ENV_OVERRIDES = (() => {
  const text = process.env.BENCH_SERVICE_ENV;
  if (!text) return {};
  const parsed = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('BENCH_SERVICE_ENV must be a JSON object of variable names to string values');
  }
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
})();

/**
 * Starts one service and resolves once it printed its ready line.
 * @param {{ kind: keyof SERVICE_MAINS, name?: string, env: Record<string,string>, nodeArgs?: string[], timeoutMs?: number }} options
 */
export async function startService({ kind, name = kind, env, nodeArgs = [], timeoutMs = 60_000 }) {
  const main = SERVICE_MAINS[kind];
  const child = spawn(process.execPath, [...nodeArgs, main.script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env, ...SERVICE_ENV_OVERRIDES },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let running = true;
  let signalReady = () => undefined;
  const ready = new Promise((resolve) => (signalReady = resolve));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  let partial = '';
  const keep = (chunk) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.length === 0) continue;
      if (line.includes(main.ready)) signalReady();
      lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (lines.length > 60) lines.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const service = {
    name,
    pid: child.pid,
    isRunning: () => running,
    output: () => lines.join('\n'),
    exited,
    /** SIGTERM (the service drains and exits), SIGKILL after graceMs. */
    async stop(graceMs = 20_000) {
      if (!running) return exited;
      child.kill('SIGTERM');
      const late = new Promise((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
      if ((await Promise.race([exited, late])) === 'late') {
        child.kill('SIGKILL');
      }
      return exited;
    },
  };
  const started = await Promise.race([
    ready.then(() => 'ready'),
    exited.then(() => 'exited'),
    new Promise((resolve) => setTimeout(() => resolve('late'), timeoutMs).unref()),
  ]);
  if (started !== 'ready') {
    await service.stop(2_000);
    throw new Error(`${name} did not start (${started}); its last lines:\n${service.output()}`);
  }
  return service;
}
