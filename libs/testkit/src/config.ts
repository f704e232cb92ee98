// The only place testkit reads the environment.
export interface TestkitEnv {
  kafkaBrokers: string | undefined;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  /** MSSQL_URL: a SQL Server for the suites that need one (an mssql:// URL, or an ADO connection string). */
  mssqlUrl: string | undefined;
  /** FUZZ_SEED: replays a fuzzing run (fast-check prints the seed of a failure). */
  fuzzSeed: string | undefined;
  /** FUZZ_RUNS: runs per property instead of each property's default. */
  fuzzRuns: string | undefined;
}

export function readTestkitEnv(): TestkitEnv {
  const value = (name: string) => (process.env[name] ? process.env[name] : undefined);
  return {
    kafkaBrokers: value('KAFKA_BROKERS'),
    redisUrl: value('REDIS_URL'),
    databaseUrl: value('DATABASE_URL'),
    mssqlUrl: value('MSSQL_URL'),
    fuzzSeed: value('FUZZ_SEED'),
    fuzzRuns: value('FUZZ_RUNS'),
  };
}

/** The environment a child process of a test inherits (PATH, JAVA_HOME, HOME for Maven's cache, …). */
export function inheritedEnv(): NodeJS.ProcessEnv {
  return { ...process.env };
}
