// The table a fault-injection run prints, and the small vitest-like JSON that `npm test`'s summary counts.
import type { RunResult } from './run.js';

export function countBy<T>(items: readonly T[], keyOf: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

export function summaryRows(result: RunResult): [string, string][] {
  const { attempts, faults, verdict } = result;
  const rows: [string, string][] = [];
  const row = (label: string, value: number | string) => rows.push([label, String(value)]);
  row('seed', result.seed);
  row('size', `${result.size} (${Math.round(result.loadMs / 1000)} s of load)`);
  row('faults injected', faults.length);
  for (const [kind, n] of countBy(faults, (f) => f.kind)) row(`  ${kind}`, n);
  const failedFaults = faults.filter((f) => f.error !== undefined).length;
  if (failedFaults > 0) row('  faults that failed to inject', failedFaults);
  row('requests (buy-now)', attempts.length);
  row('  202 accepted', attempts.filter((a) => a.status === 202).length);
  for (const [reason, n] of countBy(
    attempts.filter((a) => a.status === 409),
    (a) => a.reason ?? '?',
  ))
    row(`  409 ${reason}`, n);
  for (const [code, n] of countBy(
    attempts.filter((a) => a.status === 503),
    (a) => a.reason ?? '?',
  ))
    row(`  503 ${code}`, n);
  const others = countBy(
    attempts.filter((a) => a.status !== undefined && ![202, 409, 503].includes(a.status)),
    (a) => `${a.status} ${a.reason ?? ''}`.trim(),
  );
  for (const [status, n] of others) row(`  ${status}`, n);
  row('  connection errors', attempts.filter((a) => a.status === undefined).length);
  row(
    'accepted purchases (distinct)',
    new Set(attempts.filter((a) => a.status === 202).map((a) => a.purchaseId)).size,
  );
  row('confirmed (SQL)', result.sql.confirmed);
  row('rejected (SQL)', result.sql.rejected);
  for (const [reason, n] of Object.entries(result.sql.rejectedByReason).sort()) row(`  ${reason}`, n);
  row('restocks / withdrawals sent', result.adminCalls.filter((c) => c.kind === 'restock').length);
  row('decided without a 202 (answer lost)', verdict.decidedWithout202);
  row('  of which a try answered 503', verdict.decidedAfter503);
  row('outcome records published again', verdict.redeliveredOutcomes);
  row('FCFS exceptions: Redis loss window', verdict.fcfsRedisLossExceptions);
  row(
    'FCFS: reordered across instances',
    `${verdict.fcfsAcrossInstances} (admitted ≤ ${verdict.fcfsAcrossInstancesMaxGapMs} ms apart)`,
  );
  row('FCFS: published late by a reconciler', verdict.fcfsPublishedLate);
  row('quiesced', `${result.quiesced ? 'yes' : 'NO'} (${Math.round(result.quiesceMs / 1000)} s)`);
  for (const inv of verdict.invariants) row(`violations: ${inv.id}. ${inv.name}`, inv.violations);
  row('violations', verdict.totalViolations);
  return rows;
}

export function formatTable(result: RunResult): string {
  const rows = summaryRows(result);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value.padStart(8)}`);
  for (const inv of result.verdict.invariants) {
    for (const example of inv.examples) lines.push(`  invariant ${inv.id}: ${example}`);
  }
  return lines.join('\n');
}

/** Five checks (one per invariant) in the shape scripts/test-summary.mjs reads. */
export function vitestLikeReport(result: RunResult) {
  const failed = result.verdict.invariants.filter((inv) => inv.violations > 0).length;
  const passed = result.verdict.invariants.length - failed;
  return {
    numTotalTests: result.verdict.invariants.length,
    numPassedTests: passed,
    numFailedTests: failed,
    numPendingTests: 0,
    numTodoTests: 0,
    success: failed === 0,
    testResults: result.verdict.invariants.map((inv) => ({
      name: `chaos (seed ${result.seed}): invariant ${inv.id}, ${inv.name}`,
      status: inv.violations === 0 ? 'passed' : 'failed',
      message: inv.examples.join('\n'),
    })),
  };
}
