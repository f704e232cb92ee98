// Benchmark: decided purchases/s on ONE hot item, one SQL transaction per item per batch (the
// design) against one transaction per purchase (the usual approach), in the same run, through the
// real broker and PostgreSQL. Prints both rates and the ratio.
//   node dist/bench/hot-item.js [--purchases 20000]
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { encode, topicCatalogue } from '@buy-now/contracts';
import { createDurableProducer, createKafkaClient, deleteTopics, ensureTopics } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { ensurePostgresDatabase } from '@buy-now/sql-schema';
import { loadReservationConfig } from '../config.js';
import { startReservation } from '../reservation.js';

const { values } = parseArgs({ options: { purchases: { type: 'string', default: '20000' } } });
const purchases = Number(values.purchases);
const base = loadReservationConfig();
const logger = createLogger({ service: 'bench', level: 'warn' });
const say = (line: string) => process.stdout.write(`${line}\n`);

async function runMode(mode: 'batch' | 'single'): Promise<number> {
  const prefix = `bench-${mode}-${Date.now().toString(36)}.`;
  const dbUrl = new URL(base.DATABASE_URL);
  dbUrl.pathname = `/${prefix.replaceAll(/[-.]/g, '_')}db`;
  await ensurePostgresDatabase(dbUrl.toString());
  const client = createKafkaClient({ brokers: [...base.KAFKA_BROKERS], clientId: 'bench', logger });
  const topics = topicCatalogue
    .filter((t) => t.name.startsWith('item-'))
    .map((t) => ({
      ...t,
      name: prefix + t.name,
      partitions: t.name.endsWith('.dlq') ? 1 : 3,
      configs: { ...t.configs },
    }));
  await ensureTopics(client, topics);

  // The whole sale is in the log before the service starts, so only deciding is timed.
  const itemId = `hot-${randomUUID()}`;
  const producer = createDurableProducer(client, { logger });
  const send = (name: Parameters<typeof encode>[0], value: Parameters<typeof encode>[1]) => {
    const r = encode(name, value as never);
    return producer.send({ topic: `${prefix}item-commands`, key: r.key, value: r.value, headers: r.headers });
  };
  const now = Date.now();
  await send('ListItem', {
    commandId: randomUUID(),
    itemId,
    title: 'Hot item',
    priceMinor: 100,
    currency: 'EUR',
    stock: purchases,
    perBuyerLimit: 1,
    startsAt: null,
    requestedAt: now,
  });
  const sends: Promise<unknown>[] = [];
  for (let i = 1; i <= purchases; i++) {
    sends.push(
      send('BuyRequested', {
        purchaseId: randomUUID(),
        itemId,
        buyerId: `b${i}`,
        quantity: 1,
        idempotencyKey: `k${i}`,
        admittedAt: now,
        admissionSeq: i,
        gatewayId: 'bench',
      }),
    );
  }
  await Promise.all(sends);
  await producer.stop();

  const started = Date.now();
  const reservation = await startReservation(
    { ...base, DATABASE_URL: dbUrl.toString(), TOPIC_PREFIX: prefix, DECIDE_MODE: mode },
    logger,
  );
  const db = new pg.Client({ connectionString: dbUrl.toString() });
  await db.connect();
  let decided = 0;
  while (decided < purchases) {
    await new Promise((r) => setTimeout(r, 250));
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM purchases');
    decided = Number(rows[0]?.n ?? 0);
    process.stdout.write(`\r  ${mode}: ${decided}/${purchases} decided`);
  }
  const seconds = (Date.now() - started) / 1000;
  const rate = purchases / seconds;
  say(`\r  ${mode}: ${purchases} decided in ${seconds.toFixed(1)} s → ${Math.round(rate)} purchases/s`);
  await reservation.stop();
  await db.end();
  await deleteTopics(
    client,
    topics.map((t) => t.name),
  );
  const admin = new pg.Client({ connectionString: base.DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbUrl.pathname.slice(1)}" WITH (FORCE)`);
  await admin.end();
  return rate;
}

say(
  `hot item: ${purchases} purchases of one item, decided through Kafka into PostgreSQL (start-up included)`,
);
const single = await runMode('single');
const batch = await runMode('batch');
say(
  `hotItemBatchVsSingle = ${(batch / single).toFixed(1)}× (batch ${Math.round(batch)}/s, single ${Math.round(single)}/s)`,
);
