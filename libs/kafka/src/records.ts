// The record shapes every service sees; they deliberately mirror no client library's types.

export interface RecordToSend {
  topic: string;
  /** Decides the partition (murmur2, as the Java client does), so one key keeps one order. */
  key: Buffer | string | null;
  /** null is a tombstone: on a compacted topic it deletes the key. */
  value: Buffer | null;
  /** Strings for our own headers; Buffers let a dead-lettered record keep binary headers intact. */
  headers?: Record<string, string | Buffer>;
}

/** Where the broker stored a record once every in-sync replica had it. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** Decimal string: offsets are 64-bit. */
  offset: string;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Decimal string: offsets are 64-bit. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
  /** Milliseconds since the epoch, as set by the producer or the broker. */
  timestamp: number;
}

/** A record the runner decoded; `message` is what the decode function returned. */
export interface DecodedRecord<T> extends ConsumedRecord {
  message: T;
}

/** Bytes the record adds to a produce request, near enough to respect the broker's size limit. */
export function approximateRecordSize(record: RecordToSend): number {
  let size = (record.value?.length ?? 0) + 32;
  if (record.key !== null) size += Buffer.byteLength(record.key);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  }
  return size;
}

export function headerAsString(value: Buffer | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}
