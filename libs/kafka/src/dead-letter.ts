// What a record that cannot be decoded becomes: the same key, value and headers on the dead-letter
// topic, plus headers that say why and where it came from, so it can be inspected and replayed.
import type { ConsumedRecord, RecordToSend } from './records.js';

export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  at: 'dlq-at',
} as const;

const MAX_REASON_LENGTH = 1000;

export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export function deadLetterRecordFor(
  record: ConsumedRecord,
  reason: unknown,
  dlqTopic: string,
  at: Date,
): RecordToSend {
  const headers: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (value !== undefined) headers[name] = value;
  }
  const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  headers[DLQ_HEADERS.reason] =
    message.length > MAX_REASON_LENGTH ? `${message.slice(0, MAX_REASON_LENGTH)}…` : message;
  headers[DLQ_HEADERS.sourceTopic] = record.topic;
  headers[DLQ_HEADERS.sourcePartition] = String(record.partition);
  headers[DLQ_HEADERS.sourceOffset] = record.offset;
  headers[DLQ_HEADERS.at] = at.toISOString();
  return { topic: dlqTopic, key: record.key, value: record.value, headers };
}
