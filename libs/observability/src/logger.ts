// One pino logger per process: JSON lines with the service name, so logs of all services can be joined by purchaseId.
import { pino, type Logger, type LoggerOptions as PinoOptions } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: PinoOptions['level'];
  /** Extra fields on every line (e.g. instance id). */
  base?: Record<string, unknown>;
  /** Destination stream; defaults to stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions: PinoOptions = {
    level: options.level ?? 'info',
    base: { service: options.service, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['*.authorization', '*.headers.authorization', 'password', '*.password'],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}
