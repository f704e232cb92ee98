// Stream processor process: load config, start, stop cleanly on SIGTERM/SIGINT.
import { createLogger } from '@buy-now/observability';
import { loadStreamProcessorConfig } from './config.js';
import { startStreamProcessor } from './stream-processor.js';

const config = loadStreamProcessorConfig();
const logger = createLogger({ service: 'stream-processor', level: config.LOG_LEVEL });

try {
  const processor = await startStreamProcessor(config, logger);
  logger.info('stream-processor consuming item-events');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    processor.stop().then(
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
    'stream-processor failed to start: is the infrastructure up (`npm run infra:status`)?',
  );
  process.exit(1);
}
