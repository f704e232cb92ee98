// PostgreSQL ends the idle connections of every process of the system (a server restart, an
// administrator's pg_terminate_backend, a failover): the gateway and the reservation service must not go
// down. The gateway's pool drops each broken connection and says so; SQL reads (the purchase archive,
// readiness) and purchases work again on new connections.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '@buy-now/observability';
import { collectLogLines, waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buyNow,
  errorShape,
  listItem,
  purchaseRows,
  request,
  startSystem,
  waitUntilDecided,
  type TestSystem,
} from './support/system.js';

/** The service's log lines at warn and above, parsed. */
const { destination, lines: logLines } = collectLogLines<{ msg?: string; err?: { code?: string } }>();
const gatewayLogger = createLogger({ service: 'gateway-connection-loss-test', level: 'warn', destination });

let system: TestSystem;
/** The test's own connection, spared when every other backend of the database is terminated. */
let client: pg.Client;

beforeAll(async () => {
  system = await startSystem({ gatewayLogger });
  client = new pg.Client({ connectionString: system.database.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await system?.stop();
});

describe('PostgreSQL terminates every idle connection of the system', () => {
  it(
    'the gateway reports each, keeps answering from SQL, and purchases go on',
    { timeout: 120_000 },
    async () => {
      const itemId = await listItem(system, { stock: 5 });
      const first = await buyNow(system, { itemId, buyerId: 'buyer-before' });
      expect(first.status).toBe(202);
      await waitUntilDecided(system, [first.body.purchaseId ?? '']);
      // The gateway's pool now holds idle connections: readiness and the archive read through it.
      expect((await request(system.baseUrl, 'GET', '/readyz')).status).toBe(200);
      const unknown = await request(system.baseUrl, 'GET', `/purchases/${randomUUID()}`);
      expect(unknown.status).toBe(404);

      const { rows } = await client.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      expect(rows.filter((row) => row.terminated).length).toBeGreaterThan(0);
      await waitFor('the gateway to report its broken connections', () =>
        logLines.some((line) => line.msg === 'idle SQL connection failed' && line.err?.code === '57P01')
          ? true
          : undefined,
      );

      // SQL reads answer as before, on new connections.
      const again = await request(system.baseUrl, 'GET', `/purchases/${randomUUID()}`);
      expect(again.status).toBe(404);
      expect(again.body).toEqual(errorShape('PURCHASE_NOT_FOUND'));
      expect((await request(system.baseUrl, 'GET', '/readyz')).status).toBe(200);

      // The reservation service lost its connections too, and still decides.
      const second = await buyNow(system, { itemId, buyerId: 'buyer-after' });
      expect(second.status).toBe(202);
      const decided = await waitUntilDecided(system, [second.body.purchaseId ?? '']);
      expect(decided.get(second.body.purchaseId ?? '')).toMatchObject({ status: 'confirmed' });
      expect((await purchaseRows(system, itemId)).map((row) => [row.buyerId, row.status]).sort()).toEqual([
        ['buyer-after', 'confirmed'],
        ['buyer-before', 'confirmed'],
      ]);
      expect(system.reservation.output()).not.toMatch(/Uncaught|unhandled/i);
    },
  );
});
