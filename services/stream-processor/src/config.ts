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
