export {
  listMigrations,
  migratePostgres,
  ensurePostgresDatabase,
  MigrationError,
  type Migration,
  type MigrationReport,
  type Dialect,
} from './migrations.js';
export { createPostgresPool, closePostgresPool, type PostgresPoolOptions } from './postgres-pool.js';
