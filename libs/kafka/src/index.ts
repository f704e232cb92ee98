export {
  createKafkaClient,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaRetryOptions,
} from './client.js';
export {
  deleteGroups,
  deleteRecordsBefore,
  deleteTopics,
  describeTopicConfigs,
  ensureTopics,
  fetchCommittedOffsets,
  fetchConsumerGroupLag,
  lagOf,
  fetchPartitionCount,
  fetchTopicOffsets,
  listTopics,
  resetGroupOffsets,
  setGroupOffsets,
  waitForBroker,
  type BrokerInfo,
  type CommittedOffset,
  type EnsureTopicsResult,
  type GroupLagAnswer,
  type GroupLagQuery,
  type PartitionOffsets,
  type TopicSpec,
} from './admin.js';
export {
  createDurableProducer,
  type DurableProducer,
  type DurableProducerOptions,
  type DurableProducerStats,
  type ProduceBatchOutcome,
} from './durable-producer.js';
export {
  runBatchConsumer,
  type BatchConsumer,
  type BatchConsumerHealth,
  type BatchStats,
  type BatchConsumerOptions,
  type BatchConsumerState,
  type BatchContext,
  type BatchHandled,
} from './batch-consumer.js';
export { DLQ_HEADERS, deadLetterRecordFor, defaultDeadLetterTopic } from './dead-letter.js';
export { isKafkaError, KafkaError, provedNotWritten, type KafkaErrorCode } from './errors.js';
export {
  headerAsString,
  type ConsumedRecord,
  type DecodedRecord,
  type RecordMetadata,
  type RecordToSend,
} from './records.js';
export type { BackoffOptions } from './backoff.js';
export { requestQueueFixed } from './request-queue-fix.js';
export { consumerReadiness, producerReady, type KafkaReadiness } from './readiness.js';
