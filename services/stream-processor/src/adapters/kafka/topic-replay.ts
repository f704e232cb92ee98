// Reads a topic from its first offset (or from given offsets) up to the end offsets it had when the
// replay started, with a throwaway consumer group that is deleted afterwards: the Kappa way to rebuild a
// view from scratch.
import {
  deleteGroups,
  fetchTopicOffsets,
  runBatchConsumer,
  setGroupOffsets,
  type ConsumedRecord,
  type DecodedRecord,
  type KafkaClient,
  type PartitionOffsets,
} from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import { StreamProcessorError } from '../../domain/errors.js';

export interface TopicReplayOptions<T> {
  topic: string;
  /** Unique per replay; deleted at the end. */
  groupId: string;
  /**
   * Where to start on each partition; a partition not named, or an offset below the log's first, starts
   * at the first offset still in the log.
   */
  from?: ReadonlyMap<number, bigint>;
  /** Must not throw: a replay reports bad records, it does not dead-letter them a second time. */
  decode: (record: ConsumedRecord) => T;
  /** Each partition's records in offset order, only those below the captured end offsets. */
  onRecords: (records: DecodedRecord<T>[]) => void | Promise<void>;
  onProgress?: (read: number, total: number) => void;
  logger: Logger;
  /** Default 120 s. */
  timeoutMs?: number;
}

export interface TopicReplay {
  /** End offsets captured at the start: the replay covers everything below them. */
  endOffsets: PartitionOffsets[];
  records: number;
}

export async function replayTopic<T>(
  client: KafkaClient,
  options: TopicReplayOptions<T>,
): Promise<TopicReplay> {
  const endOffsets = await fetchTopicOffsets(client, options.topic);
  const end = new Map(endOffsets.map(({ partition, high }) => [partition, BigInt(high)]));
  const start = (partition: number, low: string, high: string) => {
    const wanted = options.from?.get(partition) ?? 0n;
    if (wanted > BigInt(high)) return BigInt(high);
    return wanted > BigInt(low) ? wanted : BigInt(low);
  };
  const next = new Map(
    endOffsets.map(({ partition, low, high }) => [partition, start(partition, low, high)]),
  );
  const total = endOffsets.reduce(
    (sum, { partition, high }) => sum + Math.max(0, Number(BigInt(high) - (next.get(partition) ?? 0n))),
    0,
  );
  const isDone = () => [...end].every(([partition, high]) => (next.get(partition) ?? 0n) >= high);
  if (isDone()) return { endOffsets, records: 0 };
  if (options.from !== undefined) {
    await setGroupOffsets(
      client,
      options.groupId,
      options.topic,
      [...next].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    );
  }

  let records = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const consumer = await runBatchConsumer<T>(client, {
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: true,
    ensureDlqTopics: false,
    logger: options.logger,
    decode: options.decode,
    handleBatch: async (batch, ctx) => {
      const high = end.get(ctx.partition) ?? 0n;
      const below = batch.filter((record) => BigInt(record.offset) < high);
      if (below.length > 0) await options.onRecords(below);
      records += below.length;
      const last = batch[batch.length - 1];
      if (last !== undefined) next.set(ctx.partition, BigInt(last.offset) + 1n);
      options.onProgress?.(records, total);
      if (isDone()) finish();
    },
  });

  const timeoutMs = options.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StreamProcessorError(
                'REPLAY_TIMED_OUT',
                `replay of ${options.topic} read ${records} of ${total} records in ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.stop();
    await deleteGroups(client, [options.groupId]).catch((error: unknown) =>
      options.logger.warn({ err: error, groupId: options.groupId }, 'replay group not deleted'),
    );
  }
  return { endOffsets, records };
}
