// Builds the reads of the reservation's tables for the database DATABASE_URL names. Connects on first use.
import type { SqlDatabase } from '@buy-now/config';
import { createMssqlReservationReads } from './mssql-reads.js';
import { createPostgresReservationReads } from './postgres-reads.js';
import type { ReservationReads, ReservationReadsOptions } from './reservation-reads.js';

export function createReservationReads(
  database: SqlDatabase,
  options: ReservationReadsOptions,
): ReservationReads {
  switch (database.dialect) {
    case 'postgres':
      return createPostgresReservationReads(database.url, options);
    case 'mssql':
      return createMssqlReservationReads(database.url, options);
  }
}

export type * from './reservation-reads.js';
export { MSSQL_READ_STATEMENTS } from './mssql-reads.js';
