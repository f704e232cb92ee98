// Adds up the vitest JSON reports of every workspace (and infra's chaos.json: one check per invariant of
// the fault-injection run) into one closing line: "N passed, N failed, N skipped". Whatever failed
// without a failed test to show for it is counted as a failure too, with its name: a report that says
// the run failed (an unhandled error, a suite that could not load), a report that is missing (the suite
// crashed or never ran), a stage of scripts/test-all.sh that exited non-zero. So the last line says
// "0 failed" exactly when the run passed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['libs', 'services']
  .flatMap((dir) => (existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : []))
  .concat('infra')
  .filter((root) => existsSync(join(root, 'package.json')));

/** Stage of test-all.sh → the reports it writes, by file name. */
const STAGE_REPORTS = { unit: ['unit'], int: ['int'], chaos: ['chaos'], e2e: ['e2e'] };

const stages = existsSync('test-results/stages.tsv')
  ? readFileSync('test-results/stages.tsv', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, code] = line.split('\t');
        return { name, code: Number(code) };
      })
  : [];
const ran = new Set(stages.map((stage) => stage.name));

/** The reports a workspace promises: its scripts' --outputFile=test-results/<name>.json. */
function promisedReports(root) {
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};
  const names = Object.values(scripts).flatMap((script) =>
    [...script.matchAll(/--outputFile=test-results\/([\w-]+)\.json/g)].map((match) => match[1]),
  );
  if (root === 'infra') names.push('chaos'); // written by infra/bin/chaos.sh
  return [...new Set(names)];
}

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
const failures = [];
/** Failures counted per stage, to know whether a stage's non-zero exit is already accounted for. */
const failedByReport = new Map();

for (const root of roots) {
  for (const name of promisedReports(root)) {
    const stage = Object.keys(STAGE_REPORTS).find((key) => STAGE_REPORTS[key].includes(name));
    const label = `${root} (${name})`;
    const file = join(root, 'test-results', `${name}.json`);
    if (!existsSync(file)) {
      // Not run at all is fine when its stage did not run here (e.g. the summary alone); otherwise it
      // crashed before it could report, or never started.
      if (stage === undefined || !ran.has(stage)) continue;
      failed += 1;
      failures.push(`${label}: no report (the suite crashed or never ran)`);
      failedByReport.set(name, (failedByReport.get(name) ?? 0) + 1);
      continue;
    }
    let report;
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      failed += 1;
      failures.push(`${label}: unreadable report (${error.message})`);
      failedByReport.set(name, (failedByReport.get(name) ?? 0) + 1);
      continue;
    }
    let reportFailed = report.numFailedTests;
    if (report.success === false && report.numFailedTests === 0) {
      // Every test passed, yet the run failed: an unhandled error, or a suite that could not load.
      reportFailed = 1;
      failures.push(
        `${label}: failed with no failed test (${report.numFailedTestSuites ?? 0} suite(s) failed; an unhandled error or a suite that could not load; see its output)`,
      );
    }
    passed += report.numPassedTests;
    failed += reportFailed;
    skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    failedByReport.set(name, (failedByReport.get(name) ?? 0) + reportFailed);
    rows.push(
      `${label.padEnd(40)} ${report.numPassedTests} passed, ${reportFailed} failed, ${report.numPendingTests} skipped`,
    );
  }
}

for (const stage of stages) {
  if (stage.code === 0) continue;
  const accounted = (STAGE_REPORTS[stage.name] ?? []).some((name) => (failedByReport.get(name) ?? 0) > 0);
  if (accounted) continue;
  failed += 1;
  failures.push(
    `stage ${stage.name}: exited ${stage.code} (build, type check, lint, format or set-up; see its output)`,
  );
}

console.log(rows.join('\n'));
if (failures.length > 0)
  console.log(`\nFailures without a failed test:\n${failures.map((f) => `- ${f}`).join('\n')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
