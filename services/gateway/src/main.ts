// Gateway process: load config, run until SIGTERM/SIGINT.
import { createLogger } from '@buy-now/observability';
import { runService } from '@buy-now/runtime';
import { loadGatewayConfig } from './config.js';
import { startGateway } from './gateway.js';

const config = loadGatewayConfig();
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
await runService({
  service: 'gateway',
  logger,
  runningMessage: 'ready',
  start: () => startGateway(config, logger),
});
