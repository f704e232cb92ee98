// Stream processor process: load config, run until SIGTERM/SIGINT.
import { createLogger } from '@buy-now/observability';
import { runService } from '@buy-now/runtime';
import { loadStreamProcessorConfig } from './config.js';
import { startStreamProcessor } from './stream-processor.js';

const config = loadStreamProcessorConfig();
const logger = createLogger({ service: 'stream-processor', level: config.LOG_LEVEL });
await runService({
  service: 'stream-processor',
  logger,
  runningMessage: 'consuming item-events',
  start: () => startStreamProcessor(config, logger),
});
