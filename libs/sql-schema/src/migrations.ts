// The numbered .sql files in migrations/<dialect>/, each applied once, in order, and recorded with a
// checksum so an edited, already-applied migration is refused instead of silently skipped. The runners
// of the two dialects (postgres/, mssql/) share these rules; migrateDatabase picks one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlDialect } from '@buy-now/config';

export type Dialect = SqlDialect;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: Migration[];
  alreadyApplied: number;
}

export interface MigrateDatabaseOptions {
  /** Create the database first when it does not exist (the runner connects to the server's admin database). */
  createDatabase?: boolean;
  onApplied?: (migration: Migration) => void;
  /** The migration connection failed between two statements; the next statement fails on it anyway. */
  onConnectionError?: (error: Error) => void;
}

export class MigrationError extends Error {
  readonly canRetry = false;
  constructor(
    readonly code: 'MIGRATION_CHECKSUM_MISMATCH' | 'MIGRATION_BAD_FILE_NAME' | 'MIGRATION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const MIGRATIONS_ROOT = fileURLToPath(new URL('../migrations/', import.meta.url));
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function listMigrations(dialect: Dialect, root = MIGRATIONS_ROOT): Migration[] {
  const dir = `${root}${dialect}`;
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match?.[1] || !match[2]) {
        throw new MigrationError('MIGRATION_BAD_FILE_NAME', `${dir}/${file}: expected NNNN_snake_name.sql`);
      }
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/** The refusal both runners give for an applied migration whose file changed since. */
export function checksumMismatch(migration: Migration): MigrationError {
  return new MigrationError(
    'MIGRATION_CHECKSUM_MISMATCH',
    `migration ${migration.version}_${migration.name} was changed after it was applied; ` +
      'add a new migration instead of editing an applied one',
  );
}

/** Database names the runners create: they are spliced into CREATE DATABASE, which takes no parameter. */
export function checkDatabaseName(database: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(database)) {
    throw new MigrationError('MIGRATION_FAILED', `database name "${database}" must be letters, digits and _`);
  }
  return database;
}
