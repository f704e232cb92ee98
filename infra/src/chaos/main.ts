// `npm run test:chaos [-- --size ci|full] [--seed N] [--out file.json]`: a sale under kill -9 of every
// service, Kafka restarts, Redis FLUSHALL and PostgreSQL restarts (all on private servers), then the
// history check of invariants 1–5. Prints a table, writes the JSON result, exits 1 on any violation.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@buy-now/observability';
import { freshSeed } from './random.js';
import { formatTable, vitestLikeReport } from './report.js';
import { pendingStops, runChaos, sizes } from './run.js';

const INFRA_DIR = fileURLToPath(new URL('../../', import.meta.url));
const USAGE = 'usage: test:chaos [--size ci|full] [--seed N] [--out result.json]';
const print = (line: string) => process.stdout.write(`${line}\n`);

function parseArgs(argv: readonly string[]) {
  const args = [...argv];
  let size: keyof typeof sizes = 'full';
  let seed = freshSeed();
  let out: string | undefined;
  while (args.length > 0) {
    const arg = args.shift();
    const value = args.shift();
    if (arg === '--size' && (value === 'ci' || value === 'full')) size = value;
    else if (arg === '--seed' && /^\d+$/.test(value ?? '')) seed = Number(value);
    else if (arg === '--out' && value) out = value;
    else throw new Error(USAGE);
  }
  return { size, seed, out };
}

function writeSummary(report: object): void {
  const summaryFile = join(INFRA_DIR, 'test-results', 'chaos.json');
  mkdirSync(dirname(summaryFile), { recursive: true });
  writeFileSync(summaryFile, JSON.stringify(report, null, 2));
}

async function main(): Promise<number> {
  const { size, seed, out } = parseArgs(process.argv.slice(2));
  const logger = createLogger({ service: 'chaos', level: 'silent' });
  const runName = `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${seed}`;
  const logDir = join(INFRA_DIR, '.run', 'chaos', runName);
  const result = await runChaos(sizes[size], seed, logger, print, logDir);
  print('');
  print(formatTable(result));
  const resultFile = out ?? join(logDir, 'result.json');
  mkdirSync(dirname(resultFile), { recursive: true });
  writeFileSync(
    resultFile,
    JSON.stringify({ ...result, attempts: undefined, requests: result.attempts.length }, null, 2),
  );
  writeSummary(vitestLikeReport(result));
  print(`result: ${resultFile}; replay with --seed ${seed} --size ${size}`);
  return result.verdict.totalViolations === 0 ? 0 : 1;
}

// Ctrl-C / SIGTERM: stop the services and the private servers first; a second signal exits at once.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    print(`${signal}: stopping the services and the private servers (again to exit at once)`);
    void Promise.all([...pendingStops].map((stop) => stop().catch(() => undefined))).finally(() =>
      process.exit(130),
    );
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`chaos run failed: ${message}\n`);
    // The summary of `npm test` counts a run that could not finish as one failed check.
    writeSummary({
      numTotalTests: 1,
      numPassedTests: 0,
      numFailedTests: 1,
      numPendingTests: 0,
      numTodoTests: 0,
      success: false,
      testResults: [{ name: 'chaos run', status: 'failed', message }],
    });
    process.exit(2);
  },
);
