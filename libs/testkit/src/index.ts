export { getTestServers, type TestServers } from './servers.js';
export {
  createTestDatabase,
  databaseDialectUnderTest,
  sqlServerUnderTest,
  type TestDatabase,
} from './database.js';
export { collectLogLines, uniqueName, waitFor } from './helpers.js';
export { DEFAULT_FUZZ_SEED, fuzzSettings, type FuzzSettings } from './fuzz.js';
export {
  deadLetterReasonOf,
  encodeUnchecked,
  oversizedRecord,
  poisonRecords,
  type PoisonOptions,
  type PoisonRecord,
} from './poison-records.js';
export {
  freePort,
  freePorts,
  startPrivateKafka,
  type PrivateKafka,
  type PrivateKafkaOptions,
} from './private-kafka.js';
export { startKafkaFaultProxy, type KafkaFaultProxy } from './kafka-fault-proxy.js';
