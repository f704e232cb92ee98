// Every service's process wiring in one place: start, say so, and on SIGTERM/SIGINT stop in the
// service's own order (which never loses an accepted purchase), then exit.
import type { Logger } from '@buy-now/observability';

export interface RunningService {
  stop(): Promise<void>;
}

export interface ServiceProcess {
  service: string;
  logger: Logger;
  start: () => Promise<RunningService>;
  /** Logged once started, e.g. 'consuming item-commands'. */
  runningMessage: string;
  /** Where exit codes go; `process.exit` outside tests. */
  exit?: (code: number) => void;
}

/** Resolves once the service runs (signal handlers installed), or after exit(1) if it could not start. */
export async function runService(options: ServiceProcess): Promise<void> {
  const { service, logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: RunningService;
  try {
    running = await options.start();
  } catch (error) {
    logger.fatal(
      { err: error },
      `${service} failed to start: is the infrastructure up (\`npm run infra:status\`)?`,
    );
    exit(1);
    return;
  }
  logger.info(`${service} ${options.runningMessage}`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
