// PostgreSQL ends the reservation service's idle connections (a server restart, an administrator's
// pg_terminate_backend, a failover): the service must not go down. Its pool drops each broken connection
// and says so once, and the next commands are decided on new connections.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { encode, Topics, type ItemCommand } from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  deleteGroups,
  deleteTopics,
  ensureTopics,
  type DurableProducer,
  type KafkaClient,
} from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import {
  collectLogLines,
  createTestDatabase,
  getTestServers,
  uniqueName,
  waitFor,
  type TestDatabase,
} from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReservationConfig } from '../src/config.js';
import { startReservation, type RunningReservation } from '../src/reservation.js';

const TIMEOUT_MS = 120_000;
const ITEM = 'terminated-item';
const prefix = `${uniqueName('rt')}.`;
const topics = {
  commands: `${prefix}${Topics.itemCommands}`,
  dlq: `${prefix}${Topics.itemCommands}.dlq`,
  events: `${prefix}${Topics.itemEvents}`,
};

/** The service's log lines at warn and above, parsed. */
const { destination, lines: logLines } = collectLogLines<{ msg?: string; err?: { code?: string } }>();
const logger = createLogger({ service: 'reservation-connection-loss-test', level: 'warn', destination });

let kafka: KafkaClient;
let producer: DurableProducer;
let database: TestDatabase;
/** The test's own connection: one client, so terminating "every other backend" spares only it. */
let client: pg.Client;
let reservation: RunningReservation;

beforeAll(async () => {
  const servers = await getTestServers();
  kafka = createKafkaClient({ brokers: servers.kafkaBrokers, clientId: 'reservation-loss-test', logger });
  await ensureTopics(kafka, [
    { name: topics.commands, partitions: 1 },
    { name: topics.dlq, partitions: 1 },
    { name: topics.events, partitions: 1 },
  ]);
  database = await createTestDatabase(servers.databaseUrl);
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  producer = createDurableProducer(kafka, { logger });
  reservation = await startReservation(
    loadReservationConfig({
      KAFKA_BROKERS: servers.kafkaBrokers.join(','),
      DATABASE_URL: database.url,
      TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    }),
    logger,
  );
}, TIMEOUT_MS);

afterAll(async () => {
  await reservation?.stop();
  await producer?.stop();
  await client?.end();
  await database?.drop();
  if (!kafka) return;
  await deleteGroups(kafka, [`${prefix}reservation`]).catch(() => undefined);
  await deleteTopics(kafka, Object.values(topics));
}, TIMEOUT_MS);

async function decide(command: ItemCommand): Promise<void> {
  const record = encode(command.name, command.value);
  await producer.send({ topic: topics.commands, ...record });
  await waitFor(
    `command ${command.value.itemId} ${command.name} decided`,
    async () => {
      const id = command.name === 'BuyRequested' ? command.value.purchaseId : command.value.commandId;
      const { rowCount } = await client.query(
        'SELECT 1 FROM processed_commands WHERE command_id = $1 UNION ALL SELECT 1 FROM purchases WHERE purchase_id = $1',
        [id],
      );
      return rowCount ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 25, describe: () => reservation.consumer.health() },
  );
}

const buy = (buyerId: string): ItemCommand => ({
  name: 'BuyRequested',
  value: {
    purchaseId: randomUUID(),
    itemId: ITEM,
    buyerId,
    quantity: 1,
    idempotencyKey: randomUUID(),
    admittedAt: Date.now(),
    admissionSeq: -1,
    gatewayId: '',
  },
});

describe('PostgreSQL terminates the reservation service’s idle connections', () => {
  it('keeps deciding on new connections and reports each broken one', { timeout: TIMEOUT_MS }, async () => {
    await decide({
      name: 'ListItem',
      value: {
        commandId: `list-${randomUUID()}`,
        itemId: ITEM,
        title: 'Terminated sneaker',
        priceMinor: 100,
        currency: 'EUR',
        stock: 10,
        perBuyerLimit: 1,
        startsAt: null,
        requestedAt: Date.now(),
      },
    });
    await decide(buy('buyer-before'));

    // The pool keeps the connections it used for a while: these are the idle ones.
    const { rows } = await client.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    expect(rows.filter((row) => row.terminated).length).toBeGreaterThan(0);
    await waitFor('the broken connections reported', () =>
      logLines.some((line) => line.msg === 'idle SQL connection failed' && line.err?.code === '57P01')
        ? true
        : undefined,
    );

    await decide(buy('buyer-after'));
    const purchases = await client.query<{ buyer_id: string; status: string }>(
      'SELECT buyer_id, status FROM purchases ORDER BY buyer_id',
    );
    expect(purchases.rows).toEqual([
      { buyer_id: 'buyer-after', status: 'confirmed' },
      { buyer_id: 'buyer-before', status: 'confirmed' },
    ]);
    const item = await client.query('SELECT sold, remaining FROM items WHERE item_id = $1', [ITEM]);
    expect(item.rows).toEqual([{ sold: 2, remaining: 8 }]);
    expect(await reservation.store.ping().then(() => 'up')).toBe('up');
  });
});
