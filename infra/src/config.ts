// The environment of the infra helpers; the same variables the services and tests read.
import { env, loadConfig, z } from '@buy-now/config';

export const infraConfig = loadConfig(
  'infra',
  z.object({
    KAFKA_BROKERS: env.brokers(),
    DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/buy_now', ['postgres', 'postgresql']),
    KAFKA_READY_TIMEOUT_MS: env.int(60_000, 1_000),
    LOG_LEVEL: env.logLevel('warn'),
  }),
  process.env,
);
