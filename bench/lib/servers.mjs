// Where the benchmark finds Kafka, Redis and PostgreSQL: the only place it reads the environment.
// Everything it drives must be on this machine (127.0.0.1), so a benchmark never loads anyone else's servers.

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function local(what, host) {
  if (!LOCAL_HOSTS.has(host)) {
    throw new Error(`${what} points at ${host}; the benchmark only runs against servers on 127.0.0.1`);
  }
}

export function benchServers(env = process.env) {
  const kafkaBrokers = (env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((b) => b.trim());
  const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
  const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/buy_now';
  for (const broker of kafkaBrokers) local('KAFKA_BROKERS', broker.slice(0, broker.lastIndexOf(':')));
  local('REDIS_URL', new URL(redisUrl).hostname);
  local('DATABASE_URL', new URL(databaseUrl).hostname);
  return { kafkaBrokers, redisUrl, databaseUrl };
}
