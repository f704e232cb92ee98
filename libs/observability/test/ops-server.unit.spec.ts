import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createConsumerMetrics,
  createLogger,
  createMetrics,
  probe,
  startOpsServer,
  type OpsServer,
  type ReadinessCheck,
} from '../src/index.js';

const quietLogger = () =>
  createLogger({
    service: 'test',
    destination: new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  });

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(checks: () => Promise<ReadinessCheck[]>) {
  const metrics = createMetrics('reservation', { defaultMetrics: false });
  metrics.counter('commands_decided_total', 'Commands decided', ['outcome']).inc({ outcome: 'confirmed' }, 2);
  server = await startOpsServer({ metrics, readiness: checks, logger: quietLogger(), port: 0 });
  return `http://${server.address}`;
}

describe('startOpsServer', () => {
  it('serves Prometheus text at /metrics and liveness at /healthz', async () => {
    const base = await start(() => Promise.resolve([]));
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain(
      'buynow_commands_decided_total{outcome="confirmed",service="reservation"} 2',
    );
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when every check is ok and 503 with the failing check otherwise', async () => {
    let sqlUp = true;
    const base = await start(async () => [
      await probe('sql', () => (sqlUp ? Promise.resolve() : Promise.reject(new Error('connection refused')))),
      { name: 'consumer', ok: true },
    ]);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: [
        { name: 'sql', ok: true },
        { name: 'consumer', ok: true },
      ],
    });
    sqlUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not-ready',
      checks: [
        { name: 'sql', ok: false, detail: 'connection refused' },
        { name: 'consumer', ok: true },
      ],
    });
  });

  it('refuses other paths and methods in the one error shape', async () => {
    const base = await start(() => Promise.resolve([]));
    const missing = await fetch(`${base}/admin`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers 500 without internals when a readiness probe itself throws', async () => {
    const base = await start(() => Promise.reject(new Error('secret internal detail')));
    const answer = await fetch(`${base}/readyz`);
    expect(answer.status).toBe(500);
    const text = await answer.text();
    expect(text).not.toContain('secret internal detail');
    expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('INTERNAL');
  });
});

describe('createConsumerMetrics', () => {
  it('counts records and dead letters and keeps the latest lag per partition and group', async () => {
    const metrics = createMetrics('gateway', { defaultMetrics: false });
    const forGroup = createConsumerMetrics(metrics);
    const follower = forGroup('gateway-follower');
    const views = forGroup('gateway-ws');
    follower({ topic: 'item-events', partition: 0, records: 10, deadLettered: 1, durationMs: 5, lag: 40 });
    follower({ topic: 'item-events', partition: 0, records: 30, deadLettered: 0, durationMs: 7, lag: 10 });
    views({ topic: 'stock-views', partition: 2, records: 3, deadLettered: 0, durationMs: 1, lag: 0 });
    const text = await metrics.render();
    expect(text).toContain(
      'buynow_consumer_records_total{group="gateway-follower",topic="item-events",service="gateway"} 40',
    );
    expect(text).toContain(
      'buynow_consumer_dead_letters_total{group="gateway-follower",topic="item-events",service="gateway"} 1',
    );
    expect(text).toContain(
      'buynow_consumer_lag{group="gateway-follower",topic="item-events",partition="0",service="gateway"} 10',
    );
    expect(text).toContain(
      'buynow_consumer_lag{group="gateway-ws",topic="stock-views",partition="2",service="gateway"} 0',
    );
    expect(text).toContain(
      'buynow_consumer_batch_records_count{service="gateway",group="gateway-follower"} 2',
    );
  });
});
