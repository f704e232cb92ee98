// The reservation store for the database DATABASE_URL names. Builds the pool; connects on first use.
import type { SqlDatabase } from '@buy-now/config';
import type { ReservationStore } from '../../domain/index.js';
import { createMssqlStore } from './mssql-dialect.js';
import { createPostgresStore } from './postgres-dialect.js';

export interface ReservationStoreOptions {
  /** Connections in the pool. */
  poolSize: number;
  /** An idle connection broke; the pool has already dropped it. Report it: it is not retried. */
  onPoolError: (error: Error) => void;
}

export function createReservationStore(
  database: SqlDatabase,
  options: ReservationStoreOptions,
): ReservationStore {
  switch (database.dialect) {
    case 'postgres':
      return createPostgresStore({ connectionString: database.url, ...options });
    case 'mssql':
      return createMssqlStore({ connection: database.url, ...options });
  }
}
