// The PostgreSQL side of the migration runner: the database created if missing, pending migrations
// applied under an advisory lock.
import pg from 'pg';
import {
  checkDatabaseName,
  checksumMismatch,
  listMigrations,
  MigrationError,
  type MigrateDatabaseOptions,
  type Migration,
  type MigrationReport,
} from '../migrations.js';

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
          throw checksumMismatch(migration);
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
  const database = checkDatabaseName(decodeURIComponent(url.pathname.replace(/^\//, '')));
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

/** The database of `url` migrated: created first when asked, then every pending migration applied. */
export async function migratePostgresDatabase(
  url: string,
  options: MigrateDatabaseOptions,
): Promise<MigrationReport & { database: string; created: boolean }> {
  const ensured = options.createDatabase ? await ensurePostgresDatabase(url) : undefined;
  const client = new pg.Client({ connectionString: url });
  // A connection lost between two statements fails the next one; the event alone must not crash us.
  client.on('error', (error) => options.onConnectionError?.(error));
  await client.connect();
  try {
    const report = await migratePostgres(client, options);
    const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return { ...report, database, created: ensured?.created ?? false };
  } finally {
    await client.end();
  }
}
