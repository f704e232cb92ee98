// The benchmark's environment: the same variables the services read.
export function benchEnvironment(): { brokers: string[]; logLevel: string } {
  return {
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: process.env.LOG_LEVEL ?? 'warn',
  };
}
