import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from '../src/index.js';

describe('createLogger', () => {
  it('writes JSON lines with the service name and redacts authorization headers', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ service: 'gateway', destination });
    logger.info({ purchaseId: 'p1', req: { headers: { authorization: 'Bearer secret' } } }, 'admitted');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ service: 'gateway', level: 'info', purchaseId: 'p1', msg: 'admitted' });
    expect(JSON.stringify(line)).not.toContain('secret');
  });
});

describe('createMetrics', () => {
  it('exposes prefixed metrics with the service label in Prometheus text', async () => {
    const metrics = createMetrics('reservation', { defaultMetrics: false });
    metrics
      .counter('purchases_decided_total', 'Purchases decided', ['outcome'])
      .inc({ outcome: 'confirmed' }, 3);
    const text = await metrics.render();
    expect(text).toContain('buynow_purchases_decided_total{outcome="confirmed",service="reservation"} 3');
  });
});
