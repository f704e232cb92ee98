// The reservation service's environment, validated once at start-up.
import { checkSqlDatabase, env, loadConfig, sqlDatabaseFields, z } from '@buy-now/config';

const schema = z
  .object({
    KAFKA_BROKERS: env.brokers(),
    /** PostgreSQL or SQL Server, told by the URL's scheme (or SQL_DIALECT): see libs/config. */
    ...sqlDatabaseFields(),
    /** Prepended to every topic name and the consumer group: lets several systems share one cluster. */
    TOPIC_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default(''),
    /** SQL connections; also the most item transactions of one batch that run at once. */
    DB_POOL_SIZE: env.int(8, 1, 100),
    /** Partitions handled at the same time by this instance. */
    PARTITIONS_CONCURRENTLY: env.int(4, 1, 64),
    /** How often unpublished outbox rows (left by a failed publish) are retried. */
    OUTBOX_SWEEP_MS: env.int(2_000, 100),
    /**
     * `batch`: one SQL transaction per item per consumed batch (the design). `single`: one transaction
     * per command, the usual approach, kept only so benchmarks can compare the two in one run.
     */
    DECIDE_MODE: z.enum(['batch', 'single']).default('batch'),
    /**
     * How long the producer holds the first record of a batch for company; 0 sends what the current turn
     * of the event loop produced (records that arrive while a batch is in flight always go together next).
     */
    KAFKA_LINGER_MS: env.int(2, 0, 1_000),
    /**
     * Consumers commit handled offsets at most once per this many ms instead of after every batch: fewer
     * broker requests at moderate rates; a crash or rebalance hands at most this interval's records to the
     * next owner again (every handler is idempotent). 0: after every batch. Default 500.
     */
    KAFKA_COMMIT_INTERVAL_MS: env.int(500, 0, 60_000),
    /**
     * While records flow, each consumer fetches at most once per this many ms, so records that arrive
     * close together are handled (and committed) together; adds at most this much to a hop. 0 (default):
     * fetch again at once. It only saves work when records arrive closer together than this; see
     * docs/benchmarks.md for what it changed on the reference machine.
     */
    KAFKA_FETCH_INTERVAL_MS: env.int(0, 0, 1_000),
    /** How long a dead instance holds its partitions before the group reassigns them (recovery time). */
    KAFKA_SESSION_TIMEOUT_MS: env.int(10_000, 6_000, 300_000),
    /** GET /metrics, /healthz, /readyz; 0 picks a free port (logged at start). */
    OPS_PORT: env.port(0),
    OPS_HOST: env.string('127.0.0.1'),
    LOG_LEVEL: env.logLevel(),
  })
  .superRefine(checkSqlDatabase);

export type ReservationConfig = Readonly<z.infer<typeof schema>>;

export function loadReservationConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): ReservationConfig {
  return loadConfig('reservation', schema, source);
}
