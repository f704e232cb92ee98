// Adds up the vitest JSON reports of every workspace (and infra's chaos.json: one check per invariant of
// the fault-injection run) into one closing line: "N passed, N failed, N skipped".
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['libs', 'services'].flatMap((dir) =>
  existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [],
);
roots.push('infra');

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const root of roots) {
  const dir = join(root, 'test-results');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    rows.push(
      `${`${root} (${file.replace('.json', '')})`.padEnd(40)} ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`,
    );
  }
}
console.log(rows.join('\n'));
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
