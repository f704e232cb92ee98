// The environment of the infra helpers; the same variables the services and tests read.
import { checkSqlDatabase, env, loadConfig, sqlDatabaseFields, z } from '@buy-now/config';

export const infraConfig = loadConfig(
  'infra',
  z
    .object({
      KAFKA_BROKERS: env.brokers(),
      /** PostgreSQL or SQL Server, told by the URL's scheme (or SQL_DIALECT): see libs/config. */
      ...sqlDatabaseFields(),
      KAFKA_READY_TIMEOUT_MS: env.int(60_000, 1_000),
      LOG_LEVEL: env.logLevel('warn'),
    })
    .superRefine(checkSqlDatabase),
  process.env,
);
