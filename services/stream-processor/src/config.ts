// The stream processor's environment (and its CLIs'), validated once at start-up.
import { checkSqlDatabase, env, loadConfig, sqlDatabaseFields, z } from '@buy-now/config';
import { Topics } from '@buy-now/contracts';

const schema = z
  .object({
    KAFKA_BROKERS: env.brokers(),
    REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
    /** Only `views:verify` reads SQL; the processor itself never does. */
    /** PostgreSQL or SQL Server, told by the URL's scheme (or SQL_DIALECT): see libs/config. */
    ...sqlDatabaseFields(),
    /** Prepended to every topic name and the consumer group: lets several systems share one cluster. */
    TOPIC_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default(''),
    /** Prepended to every Redis key; the gateway reads the read model under the same prefix. */
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_:.-]*$/)
      .default('bn:'),
    /** Length of a sales-metrics window (tumbling, by the events' occurredAt). */
    METRICS_WINDOW_MS: env.int(1_000, 10, 3_600_000),
    /** How long after its end (and after its last sale) an open window waits before the timer closes it. */
    METRICS_GRACE_MS: env.int(1_000, 0, 3_600_000),
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
    /**
     * How long the group waits for a member that stopped heartbeating (a killed process) before handing its
     * partitions to the others; those partitions' views stand still that long.
     */
    KAFKA_SESSION_TIMEOUT_MS: env.int(30_000, 6_000, 300_000),
    /** Partitions handled at the same time by this instance. */
    PARTITIONS_CONCURRENTLY: env.int(4, 1, 64),
    /** GET /metrics, /healthz, /readyz; 0 picks a free port (logged at start). */
    OPS_PORT: env.port(0),
    OPS_HOST: env.string('127.0.0.1'),
    LOG_LEVEL: env.logLevel(),
  })
  .superRefine(checkSqlDatabase);

export type StreamProcessorConfig = Readonly<z.infer<typeof schema>>;

export function loadStreamProcessorConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): StreamProcessorConfig {
  return loadConfig('stream-processor', schema, source);
}

/** The names this instance uses, all derived from the config. */
export function namesOf(config: StreamProcessorConfig) {
  return {
    itemEventsTopic: `${config.TOPIC_PREFIX}${Topics.itemEvents}`,
    stockViewsTopic: `${config.TOPIC_PREFIX}${Topics.stockViews}`,
    salesMetricsTopic: `${config.TOPIC_PREFIX}${Topics.salesMetrics}`,
    groupId: `${config.TOPIC_PREFIX}stream-processor`,
  };
}
