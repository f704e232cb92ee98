export { createSqlReservationStore, type SqlReservationStore } from './sql-store.js';
export { createPostgresStore, postgresStoreDialect, type PostgresStoreOptions } from './postgres-dialect.js';
export { createMssqlStore, mssqlStoreDialect, type MssqlStoreOptions } from './mssql-dialect.js';
export {
  createReservationStore,
  openReservationStore,
  type ReservationStoreOptions,
} from './reservation-store-factory.js';
