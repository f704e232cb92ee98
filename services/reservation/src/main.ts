// Reservation process: load config, start, stop cleanly on SIGTERM/SIGINT.
import { createLogger } from '@buy-now/observability';
import { loadReservationConfig } from './config.js';
import { startReservation } from './reservation.js';

const config = loadReservationConfig();
const logger = createLogger({ service: 'reservation', level: config.LOG_LEVEL });

try {
  const reservation = await startReservation(config, logger);
  logger.info('reservation consuming item-commands');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    reservation.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  logger.fatal(
    { err: error },
    'reservation failed to start: is the infrastructure up (`npm run infra:status`)?',
  );
  process.exit(1);
}
