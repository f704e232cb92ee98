export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createConsumerMetrics, createMetrics, type ConsumedBatchStats, type Metrics } from './metrics.js';
export {
  probe,
  startOpsServer,
  type OpsServer,
  type OpsServerOptions,
  type ReadinessCheck,
} from './ops-server.js';
