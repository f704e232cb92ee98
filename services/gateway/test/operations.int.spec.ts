// Operations: one purchaseId can be followed through the logs of all three services (LOG_LEVEL=debug),
// and every service answers /metrics and /readyz with the figures of what it just did.
import { Writable } from 'node:stream';
import { createLogger } from '@buy-now/observability';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyNow, listItem, request, startSystem, type TestSystem } from './support/system.js';

interface LogLine {
  service?: string;
  msg?: string;
  purchaseId?: string;
  status?: string;
  address?: string;
}

const gatewayLines: LogLine[] = [];
let system: TestSystem;

function parsed(lines: readonly string[]): LogLine[] {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

/** The address a child logged for its operations endpoints. */
function opsAddressOf(lines: readonly string[]): string {
  const line = parsed(lines).find((l) => l.msg?.startsWith('operations endpoints listening'));
  if (!line?.address) throw new Error(`no operations address logged:\n${lines.slice(-20).join('\n')}`);
  return line.address;
}

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length > 0) gatewayLines.push(...parsed([line]));
      }
      done();
    },
  });
  system = await startSystem({
    childEnv: { LOG_LEVEL: 'debug' },
    gatewayLogger: createLogger({ service: 'gateway', level: 'debug', destination }),
  });
});

afterAll(async () => {
  await system?.stop();
});

describe('operations', () => {
  it('follows one purchaseId through the gateway, the reservation service and the stream processor', async () => {
    const itemId = await listItem(system, { stock: 3 });
    const answer = await buyNow(system, { itemId, buyerId: 'traced-buyer', prefer: 'wait=10' });
    expect(answer.status).toBe(201);
    const purchaseId = answer.body.purchaseId as string;

    const linesOf = (lines: LogLine[]) => lines.filter((l) => l.purchaseId === purchaseId);
    await waitFor(
      'the purchase in the logs of every service',
      () => {
        const folded = linesOf(parsed(system.processor.lines())).some(
          (l) => l.msg === 'purchase folded into the views',
        );
        const applied = linesOf(gatewayLines).some((l) => l.msg === 'purchase outcome applied to the gate');
        return folded && applied ? true : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(linesOf(gatewayLines).map((l) => l.msg)).toEqual(
      expect.arrayContaining(['purchase accepted', 'purchase outcome applied to the gate']),
    );
    const decided = linesOf(parsed(system.reservation.lines())).filter((l) => l.msg === 'purchase decided');
    expect(decided).toHaveLength(1);
    expect(decided[0]).toMatchObject({ service: 'reservation', status: 'confirmed' });
    expect(
      linesOf(parsed(system.processor.lines())).filter((l) => l.msg === 'purchase folded into the views'),
    ).toHaveLength(1);
  });

  it('serves metrics and readiness for every service, with the figures of the sale', async () => {
    const itemId = await listItem(system, { stock: 2 });
    const answers = await Promise.all(
      ['m-1', 'm-2', 'm-3'].map((buyerId) => buyNow(system, { itemId, buyerId, prefer: 'wait=10' })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 409]);

    const reservationOps = `http://${opsAddressOf(system.reservation.lines())}`;
    const processorOps = `http://${opsAddressOf(system.processor.lines())}`;

    const reservationReady = await request(reservationOps, 'GET', '/readyz');
    expect(reservationReady.status).toBe(200);
    const processorReady = await request(processorOps, 'GET', '/readyz');
    expect(processorReady.status).toBe(200);
    const gatewayReady = await request(system.baseUrl, 'GET', '/readyz');
    expect(gatewayReady.status).toBe(200);

    // The first test confirmed one purchase of another item; this one two, and refused one at the gate.
    await waitFor(
      'the reservation service counted 3 confirmed purchases',
      async () => {
        const text = (await request(reservationOps, 'GET', '/metrics')).text;
        return /buynow_commands_decided_total\{outcome="confirmed",service="reservation"\} 3\b/.test(text)
          ? text
          : undefined;
      },
      { timeoutMs: 15_000 },
    ).then((text) => {
      expect(text).toMatch(/buynow_item_transaction_seconds_count\{[^}]*\} [1-9]/);
      expect(text).toMatch(
        new RegExp(
          `buynow_consumer_lag\\{group="${escape(system.reservationGroupId)}",topic="[^"]+",partition="\\d",service="reservation"\\} 0\\b`,
        ),
      );
    });

    const processorText = await waitFor(
      'the stream processor folded 3 ItemBought',
      async () => {
        const text = (await request(processorOps, 'GET', '/metrics')).text;
        return /buynow_events_folded_total\{event="ItemBought",service="stream-processor"\} 3\b/.test(text)
          ? text
          : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(processorText).toMatch(
      /buynow_events_folded_total\{event="ItemListed",service="stream-processor"\} 2\b/,
    );
    expect(processorText).toMatch(
      /buynow_consumer_records_total\{group="[^"]+",topic="[^"]+",service="stream-processor"\} \d+/,
    );

    const gatewayText = (await request(system.baseUrl, 'GET', '/metrics')).text;
    expect(gatewayText).toMatch(
      /buynow_http_requests_total\{method="POST",route="\/items\/:id\/buy-now",status="201",service="gateway"\} 3\b/,
    );
    expect(gatewayText).toMatch(
      /buynow_http_requests_total\{method="POST",route="\/items\/:id\/buy-now",status="409",service="gateway"\} 1\b/,
    );
    expect(gatewayText).toMatch(
      /buynow_admissions_total\{outcome="rejected_sold_out",service="gateway"\} 1\b/,
    );
    expect(gatewayText).toMatch(/buynow_produce_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} [1-9]/);
    expect(gatewayText).toMatch(
      /buynow_consumer_lag\{group="[^"]+gateway-follower",topic="[^"]+",partition="\d",service="gateway"\} \d+/,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
