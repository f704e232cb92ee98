export {
  listMigrations,
  MigrationError,
  type Dialect,
  type MigrateDatabaseOptions,
  type Migration,
  type MigrationReport,
} from './migrations.js';
export { migrateDatabase } from './migrate-database.js';
export { ensurePostgresDatabase, migratePostgres } from './postgres/migrations.js';
export { ensureMssqlDatabase, migrateMssql, MSSQL_MIGRATION_STATEMENTS } from './mssql/migrations.js';
export { createPostgresPool, closePostgresPool, type PostgresPoolOptions } from './postgres/pool.js';
export {
  createMssqlPool,
  mssqlConfigOf,
  MssqlUrlError,
  withDatabase,
  type LazyMssqlPool,
  type MssqlPoolOptions,
} from './mssql/connection.js';
export { mssqlTime, postgresTime, type TimeColumns } from './time-columns.js';
export * from './reads/index.js';
