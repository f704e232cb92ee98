// The gateway's environment, validated once at start-up.
import { env, loadConfig, z } from '@buy-now/config';

const schema = z.object({
  HOST: env.string('127.0.0.1'),
  PORT: env.port(3000),
  KAFKA_BROKERS: env.brokers(),
  REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/buy_now', ['postgres', 'postgresql']),
  ADMIN_TOKEN: env.secret(16),
  GATEWAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]*$/)
    .default('bn:'),
  /** Prepended to every topic name: lets several systems (or test runs) share one cluster. */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/)
    .default(''),
  /** Longest `Prefer: wait=N` honoured, in seconds. */
  MAX_WAIT_SECONDS: env.int(30, 0, 120),
  /** Admitted purchases the broker never acknowledged go back on sale after this long. */
  RECONCILE_AFTER_MS: env.int(15_000, 1_000),
  RECONCILE_INTERVAL_MS: env.int(5_000, 100),
  BODY_LIMIT_BYTES: env.int(4_096, 256, 1_048_576),
  /** How long a dead instance holds its partitions of item-events before the group reassigns them. */
  KAFKA_SESSION_TIMEOUT_MS: env.int(10_000, 6_000, 300_000),
  LOG_LEVEL: env.logLevel(),
});

export type GatewayConfig = Readonly<z.infer<typeof schema>>;

export function loadGatewayConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  return loadConfig('gateway', schema, source);
}
