// The SQL Server side of the migration runner, the same rules as PostgreSQL's: each migration once, in
// order, recorded with its checksum, an edited applied migration refused.
import sql from 'mssql';
import {
  checkDatabaseName,
  checksumMismatch,
  listMigrations,
  MigrationError,
  type MigrateDatabaseOptions,
  type Migration,
  type MigrationReport,
} from '../migrations.js';
import { mssqlConfigOf, withDatabase } from './connection.js';

// Any constant works; it only has to be the same for every runner of this schema.
const MIGRATION_LOCK = 'buy-now:schema-migrations';
const LOCK_TIMEOUT_MS = 120_000;

/** Every statement the runner sends besides the migration files themselves (the T-SQL parse test reads them). */
export const MSSQL_MIGRATION_STATEMENTS = {
  takeLock: `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive',
  @LockOwner = 'Transaction', @LockTimeout = @timeout;
SELECT @result AS result;`,
  createMigrationsTable: `IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
  CREATE TABLE dbo.schema_migrations (
    version int NOT NULL PRIMARY KEY, name nvarchar(200) NOT NULL, checksum nvarchar(64) NOT NULL,
    applied_at datetime2(3) NOT NULL DEFAULT SYSUTCDATETIME());`,
  appliedChecksum: 'SELECT checksum FROM dbo.schema_migrations WHERE version = @version',
  recordApplied:
    'INSERT INTO dbo.schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)',
  databaseExists: 'SELECT DB_ID(@database) AS id',
  // CREATE DATABASE takes no parameter: the name is checked (letters, digits, _) and quoted.
  createDatabase:
    "DECLARE @create nvarchar(400) = N'CREATE DATABASE ' + QUOTENAME(@database); EXEC sp_executesql @create;",
} as const;

/**
 * Applies pending migrations, each in its own transaction. Concurrent runners (several service
 * instances starting at once) queue on an application lock owned by that transaction, and each
 * re-reads what is applied once it holds the lock, so every migration runs once. Each file is one
 * batch: migrations for SQL Server contain no GO separators.
 */
export async function migrateMssql(
  pool: sql.ConnectionPool,
  options: { onApplied?: (migration: Migration) => void } = {},
): Promise<MigrationReport> {
  const report: MigrationReport = { applied: [], alreadyApplied: 0 };
  for (const migration of listMigrations('mssql')) {
    const applied = await inLockedTransaction(pool, migration, async (tx) => {
      const existing = await tx
        .request()
        .input('version', sql.Int, migration.version)
        .query<{ checksum: string }>(MSSQL_MIGRATION_STATEMENTS.appliedChecksum);
      const checksum = existing.recordset[0]?.checksum;
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw checksumMismatch(migration);
        }
        return false;
      }
      await tx.request().batch(migration.sql);
      await tx
        .request()
        .input('version', sql.Int, migration.version)
        .input('name', sql.NVarChar(200), migration.name)
        .input('checksum', sql.NVarChar(64), migration.checksum)
        .query(MSSQL_MIGRATION_STATEMENTS.recordApplied);
      return true;
    });
    if (applied) {
      report.applied.push(migration);
      options.onApplied?.(migration);
    } else {
      report.alreadyApplied += 1;
    }
  }
  return report;
}

async function inLockedTransaction<T>(
  pool: sql.ConnectionPool,
  migration: Migration,
  work: (tx: sql.Transaction) => Promise<T>,
): Promise<T> {
  const tx = new sql.Transaction(pool);
  try {
    await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
  } catch (error) {
    throw new MigrationError(
      'MIGRATION_FAILED',
      `could not begin migration ${migration.version}: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    const lock = await tx
      .request()
      .input('resource', sql.NVarChar(255), MIGRATION_LOCK)
      .input('timeout', sql.Int, LOCK_TIMEOUT_MS)
      .query<{ result: number }>(MSSQL_MIGRATION_STATEMENTS.takeLock);
    const result = lock.recordset[0]?.result ?? -999;
    // sp_getapplock: 0 granted, 1 granted after waiting; negative: timeout, cancelled, deadlock, error.
    if (result < 0) {
      throw new MigrationError(
        'MIGRATION_FAILED',
        `could not take the migration lock (sp_getapplock ${result})`,
      );
    }
    await tx.request().batch(MSSQL_MIGRATION_STATEMENTS.createMigrationsTable);
    const outcome = await work(tx);
    await tx.commit();
    return outcome;
  } catch (error) {
    try {
      await tx.rollback();
    } catch (rollbackError) {
      // EABORT: the server rolled the transaction back already, which is what rollback() is for.
      if (!(rollbackError instanceof sql.TransactionError && rollbackError.code === 'EABORT')) {
        throw new MigrationError(
          'MIGRATION_FAILED',
          `migration ${migration.version}_${migration.name}: rolling back failed (${String(rollbackError)}) after: ${String(error)}`,
          { cause: error },
        );
      }
    }
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(
      'MIGRATION_FAILED',
      `migration ${migration.version}_${migration.name} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Creates the database the config names if it does not exist, connecting to master; a concurrent
 * creator that got there first is no failure.
 */
export async function ensureMssqlDatabase(
  config: sql.config,
): Promise<{ created: boolean; database: string }> {
  const database = checkDatabaseName(config.database ?? '');
  const admin = new sql.ConnectionPool(withDatabase(config, 'master'));
  await admin.connect();
  try {
    const exists = await admin
      .request()
      .input('database', sql.NVarChar(128), database)
      .query<{ id: number | null }>(MSSQL_MIGRATION_STATEMENTS.databaseExists);
    if (exists.recordset[0]?.id != null) return { created: false, database };
    try {
      await admin
        .request()
        .input('database', sql.NVarChar(128), database)
        .query(MSSQL_MIGRATION_STATEMENTS.createDatabase);
    } catch (error) {
      // 1801: the database already exists (created between our check and our CREATE).
      if (!(error instanceof sql.RequestError && error.number === 1801)) throw error;
      return { created: false, database };
    }
    return { created: true, database };
  } finally {
    await admin.close();
  }
}

/** The database of `connection` migrated: created first when asked, then every pending migration applied. */
export async function migrateMssqlDatabase(
  connection: string,
  options: MigrateDatabaseOptions,
): Promise<MigrationReport & { database: string; created: boolean }> {
  const config = mssqlConfigOf(connection);
  const ensured = options.createDatabase ? await ensureMssqlDatabase(config) : undefined;
  const pool = new sql.ConnectionPool(config);
  pool.on('error', (error: Error) => options.onConnectionError?.(error));
  await pool.connect();
  try {
    const report = await migrateMssql(pool, options);
    return { ...report, database: config.database ?? '', created: ensured?.created ?? false };
  } finally {
    await pool.close();
  }
}
