// What a record that cannot be decoded becomes: the same key, value and headers on the dead-letter
// topic, plus headers that say why and where it came from, so it can be inspected and replayed.
import { approximateRecordSize, type ConsumedRecord, type RecordToSend } from './records.js';

export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  at: 'dlq-at',
  /** Set when the value was too big to copy: its size in bytes (read it at the source offset). */
  valueOmitted: 'dlq-value-omitted-bytes',
} as const;

const MAX_REASON_LENGTH = 1000;

export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/**
 * `maxRecordBytes`: the most the dead-letter producer sends. A record near the broker's limit plus the
 * dead-letter headers may not fit; its value is then left out (it stays readable at the source offset,
 * which the headers name) so that it can still be dead-lettered instead of blocking its partition.
 */
export function deadLetterRecordFor(
  record: ConsumedRecord,
  reason: unknown,
  dlqTopic: string,
  at: Date,
  maxRecordBytes = Number.POSITIVE_INFINITY,
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
  const letter: RecordToSend = { topic: dlqTopic, key: record.key, value: record.value, headers };
  if (approximateRecordSize(letter) <= maxRecordBytes) return letter;
  headers[DLQ_HEADERS.valueOmitted] = String(record.value?.length ?? 0);
  return { ...letter, value: null };
}
