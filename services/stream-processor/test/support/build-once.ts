// Vitest global setup: builds dist/ when it is missing or older than a source file, so the child
// processes and CLIs the integration suites start run the code under test (`npm run test:int` in a
// fresh checkout, or after an edit, needs no separate build).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, suffix));
    else if (entry.name.endsWith(suffix)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function oldestMtime(dir: string, suffix: string): number {
  let oldest = Number.POSITIVE_INFINITY;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) oldest = Math.min(oldest, oldestMtime(path, suffix));
      else if (entry.name.endsWith(suffix)) oldest = Math.min(oldest, statSync(path).mtimeMs);
    }
  } catch {
    return 0;
  }
  return oldest === Number.POSITIVE_INFINITY ? 0 : oldest;
}

export default function setup(): void {
  // Unit runs need no build, and turbo may be building this package beside them.
  const filters = process.argv.slice(2);
  if (filters.some((f) => f.includes('unit.spec')) && !filters.some((f) => f.includes('int.spec'))) return;
  const sources = newestMtime(join(PACKAGE_DIR, 'src'), '.ts');
  const built = oldestMtime(join(PACKAGE_DIR, 'dist'), '.js');
  if (built >= sources) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: PACKAGE_DIR, stdio: 'inherit' });
}
