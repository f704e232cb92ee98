// The reservation store for the database DATABASE_URL names. Builds the pool; connects on first use.
import { sqlDatabaseOf, type SqlDatabase } from '@buy-now/config';
import type { Logger } from '@buy-now/observability';
import type { ReservationConfig } from '../../config.js';
import { createMssqlStore } from './mssql-dialect.js';
import { createPostgresStore } from './postgres-dialect.js';
import type { SqlReservationStore } from './sql-store.js';

export interface ReservationStoreOptions {
  /** Connections in the pool. */
  poolSize: number;
  /** An idle connection broke; the pool has already dropped it. Report it: it is not retried. */
  onPoolError: (error: Error) => void;
}

export function createReservationStore(
  database: SqlDatabase,
  options: ReservationStoreOptions,
): SqlReservationStore {
  switch (database.dialect) {
    case 'postgres':
      return createPostgresStore({ connectionString: database.url, ...options });
    case 'mssql':
      return createMssqlStore({ connection: database.url, ...options });
  }
}

/** The service's store: the database its config names, idle connection failures logged. */
export function openReservationStore(
  config: Pick<ReservationConfig, 'DATABASE_URL' | 'SQL_DIALECT' | 'DB_POOL_SIZE'>,
  log: Pick<Logger, 'warn'>,
): SqlReservationStore {
  const database = sqlDatabaseOf(config);
  return createReservationStore(database, {
    poolSize: config.DB_POOL_SIZE,
    onPoolError: (error) => log.warn({ err: error, dialect: database.dialect }, 'idle SQL connection failed'),
  });
}
