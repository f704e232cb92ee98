// The final table on stdout and the results files (bench/results/latest.json plus a dated copy).
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './services.mjs';

const print = (line = '') => process.stdout.write(`${line}\n`);

export function printTable(rows) {
  const columns = ['scenario', 'figure', 'baseline', 'ratio', 'target', 'met', 'time'];
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = row[column];
      if (column === 'met') return value === true ? 'yes' : value === false ? 'NO' : '–';
      return value === undefined || value === null ? '–' : String(value);
    }),
  );
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((c) => c[i].length)));
  const line = (values) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  print(line(columns));
  print(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) print(line(c));
}

/** Markdown version of the same table, for docs/benchmarks.md. */
export function markdownTable(rows) {
  const columns = ['scenario', 'figure', 'baseline', 'ratio', 'target', 'met', 'time'];
  const text = (row, column) => {
    const value = row[column];
    if (column === 'met') return value === true ? 'yes' : value === false ? '**no**' : '–';
    return value === undefined || value === null ? '–' : String(value).replaceAll('|', '\\|');
  };
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((c) => text(row, c)).join(' | ')} |`),
  ].join('\n');
}

async function prettierJson(text) {
  // Formatted like the rest of the repository, so `prettier --check .` stays green with results committed.
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(`${REPO_ROOT}bench/results/latest.json`)) ?? {};
    return await prettier.format(text, { ...options, parser: 'json' });
  } catch (error) {
    process.stdout.write(
      `(results left unformatted: prettier failed: ${error instanceof Error ? error.message : String(error)})\n`,
    );
    return text;
  }
}

export async function writeResults(results, stamp) {
  const dir = new URL('bench/results/', pathToFileURL(REPO_ROOT));
  mkdirSync(dir, { recursive: true });
  const text = await prettierJson(`${JSON.stringify(results, null, 2)}\n`);
  const dated = new URL(`${stamp}.json`, dir);
  writeFileSync(new URL('latest.json', dir), text);
  writeFileSync(dated, text);
  return [new URL('latest.json', dir).pathname, dated.pathname];
}
