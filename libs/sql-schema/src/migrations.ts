// Applies the numbered .sql files in migrations/<dialect>/ once each, in order, recording them
// with a checksum so an edited, already-applied migration is refused instead of silently skipped.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export type Dialect = 'postgres' | 'mssql';

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

// Any constant works; it only has to be the same for every runner of this schema.
const MIGRATION_LOCK_ID = 424242_0001;

/**
 * Applies pending migrations, each in its own transaction. Concurrent runners (several service
 * instances starting at once) serialise on an advisory lock, so each migration runs once.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  options: { onApplied?: (m: Migration) => void } = {},
): Promise<MigrationReport> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    const report: MigrationReport = { applied: [], alreadyApplied: 0 };
    for (const migration of listMigrations('postgres')) {
      const checksum = done.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            'MIGRATION_CHECKSUM_MISMATCH',
            `migration ${migration.version}_${migration.name} was changed after it was applied; ` +
              'add a new migration instead of editing an applied one',
          );
        }
        report.alreadyApplied += 1;
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(
          'MIGRATION_FAILED',
          `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      report.applied.push(migration);
      options.onApplied?.(migration);
    }
    return report;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
  }
}

/** Creates the database named in `databaseUrl` if it does not exist (connecting to `postgres`). */
export async function ensurePostgresDatabase(
  databaseUrl: string,
): Promise<{ created: boolean; database: string }> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) {
    throw new MigrationError('MIGRATION_FAILED', `database name "${database}" must be letters, digits and _`);
  }
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return { created: false, database };
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } catch (error) {
      // 42P04: created by a concurrent runner between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return { created: false, database };
    }
    return { created: true, database };
  } finally {
    await admin.end();
  }
}
