// The gateway's environment, validated once at start-up.
import { checkSqlDatabase, ConfigError, env, loadConfig, sqlDatabaseFields, z } from '@buy-now/config';

const schema = z
  .object({
    HOST: env.string('127.0.0.1'),
    PORT: env.port(3000),
    /**
     * Connections the kernel queues before the gateway accepts them (capped by net.core.somaxconn). A
     * flash sale opens thousands in the same second; Node's default of 511 overflows, and the overflow
     * reaches buyers as connection resets.
     */
    LISTEN_BACKLOG: env.int(4_096, 1, 65_535),
    KAFKA_BROKERS: env.brokers(),
    REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
    /** PostgreSQL or SQL Server, told by the URL's scheme (or SQL_DIALECT): see libs/config. */
    ...sqlDatabaseFields(),
    ADMIN_TOKEN: env.secret(16),
    /** HS256 key of the buyer tokens (POST /items/:id/buy-now needs one; its `sub` is the buyer). */
    BUYER_TOKEN_SECRET: env.secret(32),
    /** Lifetime of the tokens POST /dev/buyer-tokens issues (demo mode). */
    BUYER_TOKEN_TTL_SECONDS: env.int(3_600, 60, 7 * 24 * 3_600),
    /** Demo only: POST /dev/buyer-tokens issues tokens to anyone, and the seed's /api/auction/* API answers. */
    DEMO_MODE: env.bool(false),
    /**
     * Whether the client address comes from X-Forwarded-For: unset/false (the socket's address), a number
     * of proxy hops to trust, or the proxies' addresses/CIDRs (comma list). `true` trusts any sender: only
     * behind a proxy that overwrites the header.
     */
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((s): boolean | number | string[] =>
        s === 'false'
          ? false
          : s === 'true'
            ? true
            : /^\d+$/.test(s)
              ? Number(s)
              : s.split(',').map((a) => a.trim()),
      ),
    /** Buy-now per client address: RATE_LIMIT_IP_MAX requests per window, refilled evenly. */
    RATE_LIMIT_IP_MAX: env.int(120, 1, 1_000_000_000),
    RATE_LIMIT_IP_WINDOW_SECONDS: env.int(10, 1, 86_400),
    /** Buy-now per buyer (the token's sub), whatever address it comes from. */
    RATE_LIMIT_BUYER_MAX: env.int(10, 1, 1_000_000_000),
    RATE_LIMIT_BUYER_WINDOW_SECONDS: env.int(10, 1, 86_400),
    /** POST /dev/buyer-tokens per client address (demo mode). */
    RATE_LIMIT_TOKEN_ISSUE_MAX: env.int(30, 1, 1_000_000_000),
    RATE_LIMIT_TOKEN_ISSUE_WINDOW_SECONDS: env.int(60, 1, 86_400),
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
    /**
     * How long an instance repeats the gate's SOLD_OUT for an item without asking Redis again (a restock,
     * a rejection or a released admission ends it at once); 0 asks the gate every time.
     */
    SOLD_OUT_MEMO_MS: env.int(1_000, 0, 60_000),
    /** Admitted purchases the broker never acknowledged go back on sale after this long. */
    RECONCILE_AFTER_MS: env.int(15_000, 1_000),
    RECONCILE_INTERVAL_MS: env.int(5_000, 100),
    BODY_LIMIT_BYTES: env.int(4_096, 256, 1_048_576),
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
    /** How long a dead instance holds its partitions of item-events before the group reassigns them. */
    KAFKA_SESSION_TIMEOUT_MS: env.int(10_000, 6_000, 300_000),
    /** WebSocket (GET /ws): connections one instance accepts; beyond it, 503 before the upgrade. */
    WS_MAX_CONNECTIONS: env.int(10_000, 1, 1_000_000),
    /** Items one connection may subscribe to at once; "*" counts as one. */
    WS_MAX_SUBSCRIPTIONS: env.int(100, 1, 10_000),
    /** Purchases one connection may watch at once (a decided one stops counting once it was sent). */
    WS_MAX_WATCHES: env.int(100, 1, 10_000),
    /** Largest message a client may send; a bigger one closes the connection (1009). */
    WS_MAX_MESSAGE_BYTES: env.int(4_096, 256, 1_048_576),
    /**
     * Origins (scheme://host[:port], comma-separated) allowed to open a WebSocket. Unset: only requests
     * without an Origin header (non-browser clients) and pages served from the gateway's own host.
     */
    WS_ALLOWED_ORIGINS: z
      .string()
      .optional()
      .transform((s) =>
        s === undefined
          ? undefined
          : s
              .split(',')
              .map((o) => o.trim())
              .filter(Boolean),
      )
      .pipe(
        z
          .array(
            z
              .string()
              .refine(isOrigin, 'each origin must be scheme://host[:port], without a path or a slash'),
          )
          .min(1, 'at least one origin')
          .optional(),
      ),
    /** A ping every so often; a connection that did not answer the previous one is dropped. */
    WS_HEARTBEAT_MS: env.int(15_000, 1_000, 300_000),
    /** Above this many unsent bytes, stock updates to a connection are coalesced (latest per item wins). */
    WS_SOFT_BUFFER_BYTES: env.int(65_536, 1_024, 16_777_216),
    /** Above this many unsent bytes, the connection is closed (1013): the client is too slow. */
    WS_HARD_BUFFER_BYTES: env.int(1_048_576, 4_096, 268_435_456),
    /** How often consumer-group lag is read and pushed while some dashboard follows it. */
    WS_LAG_INTERVAL_MS: env.int(1_500, 250, 60_000),
    /**
     * A fault of the fault-injection run: this instance's wall clock runs this far ahead (negative:
     * behind). Accepted only with NODE_ENV=test. Nothing two instances compare may come from this clock
     * (admission times and the reconciler's deadlines come from Redis TIME), and the run proves it.
     */
    CLOCK_SKEW_MS: env.int(0, -600_000, 600_000),
    NODE_ENV: z.string().optional(),
    LOG_LEVEL: env.logLevel(),
  })
  .superRefine(checkSqlDatabase);

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}

export type GatewayConfig = Readonly<z.infer<typeof schema>>;

export function loadGatewayConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  const config = loadConfig('gateway', schema, source);
  if (config.WS_HARD_BUFFER_BYTES <= config.WS_SOFT_BUFFER_BYTES) {
    throw new ConfigError('gateway', [
      `WS_HARD_BUFFER_BYTES (${config.WS_HARD_BUFFER_BYTES}) must be above WS_SOFT_BUFFER_BYTES (${config.WS_SOFT_BUFFER_BYTES})`,
    ]);
  }
  if (config.CLOCK_SKEW_MS !== 0 && config.NODE_ENV !== 'test') {
    throw new ConfigError('gateway', [
      `CLOCK_SKEW_MS (${config.CLOCK_SKEW_MS}) skews the clock for fault-injection tests only; unset it, or set NODE_ENV=test in a test`,
    ]);
  }
  return config;
}
