export { createPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { createMssqlStore, type MssqlStoreOptions } from './mssql-store.js';
