// Routes kafkajs' own log lines into the service's pino logger, so one stream carries everything.
import { logLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

type PinoLevel = 'error' | 'warn' | 'info' | 'debug';

// kafkajs says this every time an idempotent producer is built with bounded retries. The bound is
// deliberate (a buyer must get an answer in about two seconds) and the durable producer starts a new
// producer session after any failed batch, which is what keeps the guarantee; so it is not a warning.
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

/**
 * kafkajs logs every error response of the protocol at error level, including the routine ones it
 * retries itself (a topic's metadata asked for just after its creation, a rebalance announced by a
 * heartbeat). What actually fails reaches our code as an error, which is logged there with context;
 * the raw response stays available at debug level.
 */
function isRawResponseError(namespace: string, level: logLevel, message: string): boolean {
  return namespace === 'Connection' && level === logLevel.ERROR && message.startsWith('Response ');
}

export function pinoLevelOf(level: logLevel): PinoLevel {
  switch (level) {
    case logLevel.ERROR:
    case logLevel.NOTHING:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/** kafkajs' level threshold follows the pino logger's, so debug lines are not even built when unused. */
export function kafkajsLevelFor(logger: Logger): logLevel {
  const pinoLevel = logger.levelVal;
  if (pinoLevel <= 20) return logLevel.DEBUG;
  if (pinoLevel <= 30) return logLevel.INFO;
  if (pinoLevel <= 40) return logLevel.WARN;
  if (pinoLevel <= 60) return logLevel.ERROR;
  return logLevel.NOTHING;
}

export function createLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      let pinoLevel = pinoLevelOf(level);
      if (level === logLevel.WARN && EXPECTED_WARNINGS.includes(message)) pinoLevel = 'info';
      else if (isRawResponseError(namespace, level, message)) pinoLevel = 'debug';
      kafkaLogger[pinoLevel]({ namespace, ...fields }, message);
    };
}
