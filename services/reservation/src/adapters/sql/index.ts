export { createSqlReservationStore } from './sql-store.js';
export { createPostgresStore, postgresStoreDialect, type PostgresStoreOptions } from './postgres-dialect.js';
export { createMssqlStore, mssqlStoreDialect, type MssqlStoreOptions } from './mssql-dialect.js';
export { createReservationStore, type ReservationStoreOptions } from './reservation-store-factory.js';
