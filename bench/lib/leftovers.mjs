// Removes what an interrupted benchmark run left behind (a killed run, or a broker restarted under it):
// topics, consumer groups, databases and Redis keys whose names carry this suite's stamp
// (bench-<scenario>-<base36 time>-<hex>.… and bench_<base36 time>_<hex> databases), older than a bound.
import { Redis } from 'ioredis';
import pg from 'pg';
import { createKafkaClient, deleteTopics, listTopics } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { deleteGroupsByPrefix, withKafkaAdmin } from './system.mjs';

const NAME = /^bench-[a-z0-9]+-([a-z0-9]{6,12})-[0-9a-f]{4}[.:]/;
const DATABASE = /^bench_([a-z0-9]{6,12})_[0-9a-f]{6}$/;

const olderThan = (stamp36, boundMs) => Date.now() - parseInt(stamp36, 36) > boundMs;

export async function sweepLeftovers(servers, { olderThanMs }) {
  const removed = { topics: 0, groups: 0, databases: 0, redisKeys: 0 };
  const stale = (name, pattern) => {
    const match = pattern.exec(name);
    return match !== null && olderThan(match[1], olderThanMs);
  };
  const kafka = createKafkaClient({
    brokers: servers.kafkaBrokers,
    clientId: 'bench-sweep',
    logger: createLogger({ service: 'bench', level: 'silent' }),
  });
  const topics = (await listTopics(kafka)).filter((t) => stale(t, NAME));
  if (topics.length > 0) removed.topics = (await deleteTopics(kafka, topics)).length;
  const groups = await withKafkaAdmin(servers.kafkaBrokers, async (admin) =>
    (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => stale(id, NAME)),
  );
  for (const groupId of groups) {
    await deleteGroupsByPrefix(servers.kafkaBrokers, groupId, { boundMs: 0 }).then(
      () => removed.groups++,
      () => undefined, // still in use, or its member not expired yet: the next sweep
    );
  }
  const admin = new pg.Client({ connectionString: servers.databaseUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'");
    for (const { datname } of rows.filter((r) => stale(r.datname, DATABASE))) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      removed.databases++;
    }
  } finally {
    await admin.end();
  }
  const redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'bench-*', 'COUNT', 1000);
      cursor = next;
      const ours = keys.filter((key) => stale(key, NAME));
      if (ours.length > 0) removed.redisKeys += await redis.unlink(...ours);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return removed;
}
