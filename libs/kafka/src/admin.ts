// Topic and consumer-group administration: what services run at start-up and what tests inspect.
import kafkajs, { type Admin } from 'kafkajs';
import { kafkaOf, kafkaWith, type KafkaClient } from './client.js';
import { describeError, KafkaError, START_BROKER_HINT } from './errors.js';

const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Default: min(3, brokers in the cluster). */
  replicationFactor?: number;
  /** Topic-level configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
}

export interface BrokerInfo {
  clusterId: string;
  brokers: { nodeId: number; host: string; port: number }[];
}

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: string;
  /** Offset the next record will get ("end offset", "high watermark"). */
  high: string;
}

export interface CommittedOffset {
  partition: number;
  /** Next offset the group will read; '-1' when the group never committed on this partition. */
  offset: string;
}

async function withAdmin<T>(
  client: KafkaClient,
  work: (admin: Admin) => Promise<T>,
  admin: Admin = kafkaOf(client).admin(),
): Promise<T> {
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

function adminFailure(what: string, error: unknown): KafkaError {
  if (error instanceof KafkaError) return error;
  return new KafkaError('KAFKA_ADMIN_FAILED', `${what} failed: ${describeError(error)}`, {
    canRetry: true,
    cause: error,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once a metadata request succeeds; throws an error that says how to start the broker. */
export async function waitForBroker(
  client: KafkaClient,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<BrokerInfo> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    // Each attempt gets only the time left, so a broker that accepts connections but never answers
    // cannot hold the caller past its deadline.
    const remainingMs = Math.max(100, deadline - Date.now());
    const kafka = kafkaWith(client, {
      connectionTimeoutMs: Math.min(client.connectionTimeoutMs, remainingMs),
      requestTimeoutMs: Math.min(client.requestTimeoutMs, remainingMs),
      retry: { retries: 0 },
    });
    try {
      return await withAdmin(
        client,
        async (admin) => {
          const cluster = await admin.describeCluster();
          return { clusterId: cluster.clusterId, brokers: cluster.brokers };
        },
        kafka.admin({ retry: { retries: 0 } }),
      );
    } catch (error) {
      lastError = error;
      client.logger.debug({ attempt, err: error }, 'Kafka broker not reachable yet');
    }
    if (Date.now() + intervalMs >= deadline) break;
    await sleep(intervalMs);
  }
  throw new KafkaError(
    'KAFKA_BROKER_UNREACHABLE',
    `Kafka broker ${client.brokers.join(',')} did not answer within ${timeoutMs} ms ` +
      `(${describeError(lastError)}); ${START_BROKER_HINT}`,
    { canRetry: true, cause: lastError },
  );
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      const leaderless = metadata.filter((topic) => topic.partitions.some((p) => p.leader < 0));
      if (leaderless.length === 0) return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    if (Date.now() >= deadline) {
      const message = `No leader elected for ${topics.join(',')} in ${timeoutMs} ms`;
      throw new KafkaError('KAFKA_ADMIN_FAILED', message, { canRetry: true });
    }
    await sleep(100);
  }
}

/**
 * Creates the topics that do not exist yet and waits until each partition has a leader. Safe to run
 * from every instance at every start: existing topics are left as they are, and a partition count
 * or config that differs from the spec is logged (changing either is an operator's decision).
 */
export async function ensureTopics(
  client: KafkaClient,
  specs: TopicSpec[],
  options: { timeoutMs?: number } = {},
): Promise<EnsureTopicsResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const names = specs.map((spec) => spec.name);
  if (new Set(names).size !== names.length)
    throw new TypeError(`ensureTopics: duplicate topic in ${names.join(',')}`);
  try {
    return await withAdmin(client, async (admin) => {
      const existingNames = new Set(await admin.listTopics());
      const created: string[] = [];
      const existing: string[] = [];
      const missing = specs.filter((spec) => !existingNames.has(spec.name));
      let defaultReplication = 1;
      if (missing.some((spec) => spec.replicationFactor === undefined)) {
        const cluster = await admin.describeCluster();
        defaultReplication = Math.min(3, Math.max(1, cluster.brokers.length));
      }
      // One topic per request: another instance may be creating the same topics right now, and
      // kafkajs reports "already exists" only when every topic of a request already existed.
      for (const spec of missing) {
        const wasCreated = await admin.createTopics({
          waitForLeaders: false,
          timeout: timeoutMs,
          topics: [
            {
              topic: spec.name,
              numPartitions: spec.partitions,
              replicationFactor: spec.replicationFactor ?? defaultReplication,
              configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
            },
          ],
        });
        (wasCreated ? created : existing).push(spec.name);
      }
      if (names.length > 0) await waitForLeaders(admin, names, timeoutMs);

      const alreadyThere = specs.filter((spec) => existingNames.has(spec.name));
      existing.unshift(...alreadyThere.map((spec) => spec.name));
      if (alreadyThere.length > 0) await warnAboutDrift(client, admin, alreadyThere);
      if (created.length > 0) client.logger.info({ topics: created }, 'Kafka topics created');
      return { created, existing };
    });
  } catch (error) {
    throw adminFailure(`ensureTopics(${names.join(',')})`, error);
  }
}

async function warnAboutDrift(client: KafkaClient, admin: Admin, specs: TopicSpec[]): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.name) });
  const configs = await describeConfigsWith(
    admin,
    specs.map((spec) => spec.name),
  );
  for (const spec of specs) {
    const partitions = topics.find((topic) => topic.name === spec.name)?.partitions.length ?? 0;
    if (partitions < spec.partitions) {
      client.logger.warn(
        { topic: spec.name, partitions, wanted: spec.partitions },
        'Kafka topic has fewer partitions than its spec; add them with kafka-topics --alter (keys will move)',
      );
    }
    const actual = configs.get(spec.name) ?? {};
    for (const [name, wanted] of Object.entries(spec.configs ?? {})) {
      if (actual[name] !== wanted) {
        client.logger.warn(
          { topic: spec.name, config: name, actual: actual[name], wanted },
          'Kafka topic config differs from its spec',
        );
      }
    }
  }
}

async function describeConfigsWith(
  admin: Admin,
  topics: string[],
): Promise<Map<string, Record<string, string>>> {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const result = new Map<string, Record<string, string>>();
  for (const resource of response.resources) {
    const entries: Record<string, string> = {};
    for (const entry of resource.configEntries) entries[entry.configName] = entry.configValue;
    result.set(resource.resourceName, entries);
  }
  return result;
}

/** Effective configuration of a topic (its own settings and the broker defaults it inherits). */
export async function describeTopicConfigs(
  client: KafkaClient,
  topic: string,
): Promise<Record<string, string>> {
  try {
    return await withAdmin(
      client,
      async (admin) => (await describeConfigsWith(admin, [topic])).get(topic) ?? {},
    );
  } catch (error) {
    throw adminFailure(`describeTopicConfigs(${topic})`, error);
  }
}

export async function listTopics(client: KafkaClient): Promise<string[]> {
  try {
    return await withAdmin(client, (admin) => admin.listTopics());
  } catch (error) {
    throw adminFailure('listTopics', error);
  }
}

/** Number of partitions of an existing topic. */
export async function fetchPartitionCount(client: KafkaClient, topic: string): Promise<number> {
  try {
    return await withAdmin(client, async (admin) => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    });
  } catch (error) {
    throw adminFailure(`fetchPartitionCount(${topic})`, error);
  }
}

/** Deletes the topics that exist; returns their names. Missing topics are not an error. */
export async function deleteTopics(client: KafkaClient, topics: string[]): Promise<string[]> {
  try {
    return await withAdmin(client, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((topic) => existing.has(topic));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
      return present;
    });
  } catch (error) {
    throw adminFailure(`deleteTopics(${topics.join(',')})`, error);
  }
}

export async function fetchTopicOffsets(client: KafkaClient, topic: string): Promise<PartitionOffsets[]> {
  try {
    return await withAdmin(client, async (admin) =>
      (await admin.fetchTopicOffsets(topic))
        .map(({ partition, low, high }) => ({ partition, low, high }))
        .sort((a, b) => a.partition - b.partition),
    );
  } catch (error) {
    throw adminFailure(`fetchTopicOffsets(${topic})`, error);
  }
}

export async function fetchCommittedOffsets(
  client: KafkaClient,
  groupId: string,
  topic: string,
): Promise<CommittedOffset[]> {
  try {
    return await withAdmin(client, async (admin) => {
      const response = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partitions = response.find((entry) => entry.topic === topic)?.partitions ?? [];
      return partitions
        .map(({ partition, offset }) => ({ partition, offset }))
        .sort((a, b) => a.partition - b.partition);
    });
  } catch (error) {
    throw adminFailure(`fetchCommittedOffsets(${groupId}, ${topic})`, error);
  }
}

/** Moves a group (with no running member) to the start or end of a topic, e.g. to rebuild a view. */
export async function resetGroupOffsets(
  client: KafkaClient,
  groupId: string,
  topic: string,
  to: 'earliest' | 'latest',
): Promise<void> {
  try {
    await withAdmin(client, async (admin) => {
      // Real offsets rather than kafkajs' "earliest" marker, so fetchCommittedOffsets shows where it starts.
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map(({ partition, low, high }) => ({
          partition,
          offset: to === 'earliest' ? low : high,
        })),
      });
    });
  } catch (error) {
    throw adminFailure(`resetGroupOffsets(${groupId}, ${topic}, ${to})`, error);
  }
}

/** Moves a group (with no member running) to the given offsets: where its consumers will start. */
export async function setGroupOffsets(
  client: KafkaClient,
  groupId: string,
  topic: string,
  partitions: readonly { partition: number; offset: string }[],
): Promise<void> {
  try {
    await withAdmin(client, async (admin) => {
      await admin.setOffsets({ groupId, topic, partitions: [...partitions] });
    });
  } catch (error) {
    throw adminFailure(`setGroupOffsets(${groupId}, ${topic})`, error);
  }
}

/**
 * Deletes every record below the given offset of each partition (Kafka's DeleteRecords). Only topics
 * with cleanup.policy=delete allow it.
 */
export async function deleteRecordsBefore(
  client: KafkaClient,
  topic: string,
  partitions: readonly { partition: number; offset: string }[],
): Promise<void> {
  try {
    await withAdmin(client, async (admin) => {
      // kafkajs looks the partitions' leaders up in metadata it has not loaded on its own.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [...partitions] });
    });
  } catch (error) {
    throw adminFailure(`deleteRecordsBefore(${topic})`, error);
  }
}

export async function deleteGroups(client: KafkaClient, groupIds: string[]): Promise<void> {
  try {
    await withAdmin(client, async (admin) => {
      await admin.deleteGroups(groupIds);
    });
  } catch (error) {
    throw adminFailure(`deleteGroups(${groupIds.join(',')})`, error);
  }
}

export interface GroupLagQuery {
  groupId: string;
  topic: string;
}

export interface GroupLagAnswer extends GroupLagQuery {
  /** Records not yet committed by the group, over every partition of the topic. */
  lag: number;
}

/**
 * Records a group has still to read on each partition: end offset minus committed offset; a partition
 * the group never committed on counts from the first offset still in the log.
 */
export function lagOf(offsets: readonly PartitionOffsets[], committed: readonly CommittedOffset[]): number {
  const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
  let lag = 0n;
  for (const { partition, low, high } of offsets) {
    const at = byPartition.get(partition);
    const from = at === undefined || BigInt(at) < 0n ? BigInt(low) : BigInt(at);
    if (BigInt(high) > from) lag += BigInt(high) - from;
  }
  return Number(lag);
}

/** The lag of each group on its topic, in one admin connection (for a dashboard, every second or so). */
export async function fetchConsumerGroupLag(
  client: KafkaClient,
  queries: readonly GroupLagQuery[],
): Promise<GroupLagAnswer[]> {
  try {
    return await withAdmin(client, async (admin) => {
      const ends = new Map<string, PartitionOffsets[]>();
      for (const topic of new Set(queries.map((q) => q.topic))) {
        ends.set(
          topic,
          (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({
            partition,
            low,
            high,
          })),
        );
      }
      return Promise.all(
        queries.map(async ({ groupId, topic }) => {
          const response = await admin.fetchOffsets({ groupId, topics: [topic] });
          const committed = response.find((entry) => entry.topic === topic)?.partitions ?? [];
          return { groupId, topic, lag: lagOf(ends.get(topic) ?? [], committed) };
        }),
      );
    });
  } catch (error) {
    throw adminFailure(`fetchConsumerGroupLag(${queries.map((q) => q.groupId).join(',')})`, error);
  }
}
