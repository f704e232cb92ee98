// The gateway's reads of the reservation's tables (gate rebuild, purchase archive, readiness), on the
// database its config names. Builds the pool; connects on first use.
import { sqlDatabaseOf } from '@buy-now/config';
import type { Logger } from '@buy-now/observability';
import { createReservationReads, type ReservationReads } from '@buy-now/sql-schema';
import type { GatewayConfig } from '../../config.js';

export function openReservationReads(
  config: Pick<GatewayConfig, 'DATABASE_URL' | 'SQL_DIALECT'>,
  log: Pick<Logger, 'warn'>,
): ReservationReads {
  return createReservationReads(sqlDatabaseOf(config), {
    poolSize: 2,
    connectTimeoutMs: 2_000,
    onPoolError: (error) => log.warn({ err: error }, 'idle SQL connection failed'),
  });
}
