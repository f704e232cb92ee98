// Applies the SQL Server migrations of @buy-now/sql-schema the way migratePostgres applies PostgreSQL's:
// each once, in order, recorded with its checksum, an edited applied migration refused.
import { listMigrations, MigrationError, type Migration, type MigrationReport } from '@buy-now/sql-schema';
import sql from 'mssql';

// Any constant works; it only has to be the same for every runner of this schema.
const MIGRATION_LOCK = 'buy-now:schema-migrations';
const LOCK_TIMEOUT_MS = 120_000;

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
        .query<{ checksum: string }>('SELECT checksum FROM dbo.schema_migrations WHERE version = @version');
      const checksum = existing.recordset[0]?.checksum;
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            'MIGRATION_CHECKSUM_MISMATCH',
            `migration ${migration.version}_${migration.name} was changed after it was applied; ` +
              'add a new migration instead of editing an applied one',
          );
        }
        return false;
      }
      await tx.request().batch(migration.sql);
      await tx
        .request()
        .input('version', sql.Int, migration.version)
        .input('name', sql.NVarChar(200), migration.name)
        .input('checksum', sql.NVarChar(64), migration.checksum)
        .query(
          'INSERT INTO dbo.schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)',
        );
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
      .query<{ result: number }>(
        `DECLARE @result int;
         EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive',
           @LockOwner = 'Transaction', @LockTimeout = @timeout;
         SELECT @result AS result;`,
      );
    const result = lock.recordset[0]?.result ?? -999;
    // sp_getapplock: 0 granted, 1 granted after waiting; negative: timeout, cancelled, deadlock, error.
    if (result < 0) {
      throw new MigrationError(
        'MIGRATION_FAILED',
        `could not take the migration lock (sp_getapplock ${result})`,
      );
    }
    await tx.request().batch(
      `IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
         CREATE TABLE dbo.schema_migrations (
           version int NOT NULL PRIMARY KEY, name nvarchar(200) NOT NULL, checksum nvarchar(64) NOT NULL,
           applied_at datetime2(3) NOT NULL DEFAULT SYSUTCDATETIME());`,
    );
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
