// Reservation process: load config, run until SIGTERM/SIGINT.
import { createLogger } from '@buy-now/observability';
import { runService } from '@buy-now/runtime';
import { loadReservationConfig } from './config.js';
import { startReservation } from './reservation.js';

const config = loadReservationConfig();
const logger = createLogger({ service: 'reservation', level: config.LOG_LEVEL });
await runService({
  service: 'reservation',
  logger,
  runningMessage: 'consuming item-commands',
  start: () => startReservation(config, logger),
});
