// The only place testkit reads the environment.
export interface TestkitEnv {
  kafkaBrokers: string | undefined;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
}

export function readTestkitEnv(): TestkitEnv {
  const value = (name: string) => (process.env[name] ? process.env[name] : undefined);
  return {
    kafkaBrokers: value('KAFKA_BROKERS'),
    redisUrl: value('REDIS_URL'),
    databaseUrl: value('DATABASE_URL'),
  };
}
