// `npm run bench`: every scenario of the benchmark suite on this machine, each against a baseline
// measured in the same run, then a table and bench/results/latest.json (plus a dated copy).
//   node bench/index.mjs [--quick] [--only gateway,hotItem] [--profile]
// Infrastructure must be up (bench/run.sh builds and runs infra/bin/up.sh first).
import { parseArgs } from 'node:util';
import { benchServers } from './lib/servers.mjs';
import {
  infrastructureIncarnation,
  loadAverage,
  machine,
  wakeupCosts,
  restartedBetween,
  versions,
} from './lib/machine.mjs';
import { printTable, writeResults } from './lib/report.mjs';
import { sweepLeftovers } from './lib/leftovers.mjs';
import { cleanupProblems, stopAllSystems } from './lib/system.mjs';
import * as gateway from './scenarios/gateway.mjs';
import * as hotItem from './scenarios/hot-item.mjs';
import * as flashSale from './scenarios/flash-sale.mjs';
import * as endToEnd from './scenarios/end-to-end.mjs';
import * as scaleOut from './scenarios/scale-out.mjs';
import * as realistic from './scenarios/realistic.mjs';

const SCENARIOS = { gateway, hotItem, flashSale, endToEnd, scaleOut, realistic };
const print = (line = '') => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
    buyers: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  print(
    'node bench/index.mjs [--quick] [--only gateway,hotItem,flashSale,endToEnd,scaleOut,realistic] [--profile]',
  );
  print('  --buyers N   flash-sale buyers (default 50000, quick 5000)');
  print('  --rate N     end-to-end requests/s (default 2000, quick 500); realistic: this one rate only');
  print('  --seconds N  gateway phase length (default 10, quick 3)');
  print('  --connections N  gateway load connections (default 64)');
  print('  --profile    run the services under node --cpu-prof and summarise where their time goes');
  print('  --sweep      only remove what earlier (interrupted) runs left behind, then exit');
  process.exit(0);
}
const positive = (name, raw) => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const overrides = {
  buyers: positive('buyers', values.buyers),
  rate: positive('rate', values.rate),
  seconds: positive('seconds', values.seconds),
  connections: positive('connections', values.connections),
};
const selected = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SCENARIOS);
for (const name of selected) {
  if (!SCENARIOS[name])
    throw new TypeError(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
}

const startedAt = new Date();
const stamp =
  `${startedAt.toISOString().slice(0, 19).replaceAll(':', '-')}Z` +
  `${values.quick ? '-quick' : ''}${values.profile ? '-profile' : ''}`;
const profileDir = values.profile ? new URL(`results/profiles/${stamp}/`, import.meta.url).pathname : null;

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    print(`\n${signal}: stopping the services and removing what this run created…`);
    stopAllSystems().finally(() => process.exit(130));
  });
}

const servers = benchServers();
if (values.sweep) {
  print(`removed: ${JSON.stringify(await sweepLeftovers(servers, { olderThanMs: 0 }))}`);
  process.exit(0);
}
// Leftovers of interrupted runs older than half an hour (a running suite's systems are younger).
const swept = await sweepLeftovers(servers, { olderThanMs: 30 * 60_000 });
const results = {
  suite: 'buy-now benchmarks',
  mode: values.quick ? 'quick' : 'full',
  startedAt: startedAt.toISOString(),
  finishedAt: null,
  durationSeconds: null,
  machine: { ...machine(), wakeupCosts: await wakeupCosts() },
  versions: await versions(servers),
  note: 'Every figure that matters is a ratio against a baseline measured in the same run on the same machine.',
  ratios: {},
  targets: [],
  scenarios: {},
  sweptBeforeRun: swept,
};
print(
  `Buy Now benchmarks (${results.mode}) on ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB; ` +
    `Node ${results.versions.node}, Kafka ${results.versions.kafka}, PostgreSQL ${results.versions.postgresql}, ` +
    `Redis ${results.versions.redis}`,
);
{
  const costs = results.machine.wakeupCosts;
  print(
    `CPU per wake-up here: empty timer ${costs.timerWakeupMicros} µs; loopback round trip between two ` +
      `processes ${costs.roundTripMicrosPaced100PerSecond} µs at 100/s, ${costs.roundTripMicrosBackToBack} µs back to back`,
  );
}

const table = [];
for (const [index, name] of selected.entries()) {
  if (interrupted) break;
  const scenario = SCENARIOS[name];
  print(`\n[${index + 1}/${selected.length}] ${scenario.title}`);
  const started = performance.now();
  const load = { before: loadAverage() };
  const progress = (line) => print(`  ${name}: ${line}`);
  let outcome;
  const restarts = [];
  // A server restarted under a scenario (other suites on a shared machine do that) makes its figures
  // meaningless: such a scenario runs once more, and is flagged if it happens again.
  for (let attempt = 1; attempt <= 2 && !interrupted; attempt++) {
    const before = await infrastructureIncarnation(servers);
    try {
      outcome = await scenario.run({ quick: values.quick, servers, progress, profileDir, overrides });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      print(`  ${name}: FAILED: ${message}`);
      outcome = {
        status: 'failed',
        error: message,
        table: [{ scenario: name, figure: `failed: ${message.split('\n')[0].slice(0, 80)}` }],
      };
    }
    const restarted = restartedBetween(before, await infrastructureIncarnation(servers));
    if (restarted.length === 0) break;
    restarts.push({ attempt, restarted });
    print(
      `  ${name}: ${restarted.join(', ')} restarted during the run; its figures are void${attempt < 2 ? ', running it again' : ''}`,
    );
  }
  if (outcome === undefined) break; // interrupted: the signal handler cleans up and exits
  if (restarts.length > 0) outcome.infrastructureRestarts = restarts;
  if (restarts.length === 2) {
    outcome.voidRatios = outcome.ratios;
    outcome.ratios = Object.fromEntries(Object.keys(outcome.ratios ?? {}).map((key) => [key, null]));
    outcome.status = 'disturbed';
    outcome.table = (outcome.table ?? []).map((row, i) =>
      i === 0
        ? {
            ...row,
            figure: `DISTURBED (${restarts[1].restarted.join(', ')} restarted): ${row.figure ?? ''}`,
            met: null,
          }
        : row,
    );
    outcome.targets = (outcome.targets ?? []).map((t) => ({ ...t, met: null }));
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  load.after = loadAverage();
  const { table: rows = [], ratios = {}, targets = [], ...rest } = outcome;
  const leftBehind = cleanupProblems.splice(0);
  for (const problem of leftBehind) print(`  ${name}: clean-up: ${problem}`);
  results.scenarios[name] = {
    status: rest.status ?? 'done',
    seconds,
    loadAverage: load,
    ...rest,
    ...(leftBehind.length > 0 ? { cleanupProblems: leftBehind } : {}),
  };
  Object.assign(results.ratios, ratios);
  results.targets.push(...targets.map((t) => ({ scenario: name, ...t })));
  rows.forEach((row, i) => table.push({ ...row, time: i === 0 ? `${seconds} s` : '' }));
  print(`  ${name}: done in ${seconds} s`);
}

const finishedAt = new Date();
results.finishedAt = finishedAt.toISOString();
results.durationSeconds = Math.round((finishedAt - startedAt) / 100) / 10;
print(`\nResults (${results.mode}, ${results.durationSeconds} s in all)\n`);
printTable(table);
results.table = table;
const written = await writeResults(results, stamp);
print(`\nwritten: ${written.join(', ')}`);
const failed = Object.values(results.scenarios).some((s) => s.status === 'failed');
process.exitCode = failed ? 1 : 0;
