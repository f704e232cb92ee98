import { describe, expect, it } from 'vitest';

import {
  ContractError,
  dlqTopicOf,
  keyOf,
  schemaNames,
  schemasOnTopic,
  topicCatalogue,
  topicOf,
  Topics,
} from '../src/index.js';

function specOf(name: string) {
  const spec = topicCatalogue.find((topic) => topic.name === name);
  if (spec === undefined) throw new Error(`${name} is not in the catalogue`);
  return spec;
}

describe('topic catalogue', () => {
  it('names the topics of the design', () => {
    expect(Topics).toStrictEqual({
      itemCommands: 'item-commands',
      itemEvents: 'item-events',
      stockViews: 'stock-views',
      salesMetrics: 'sales-metrics',
    });
    expect(dlqTopicOf(Topics.itemEvents)).toBe('item-events.dlq');
  });

  it('lists every topic once, with a single-partition DLQ beside each', () => {
    const names = topicCatalogue.map((topic) => topic.name);

    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toStrictEqual(
      Object.values(Topics)
        .flatMap((topic) => [topic, dlqTopicOf(topic)])
        .sort(),
    );
    for (const topic of Object.values(Topics)) {
      expect(specOf(dlqTopicOf(topic)).partitions).toBe(1);
    }
  });

  it('gives the keyed topics one partition count, so an item has the same partition in each', () => {
    const counts = [Topics.itemCommands, Topics.itemEvents, Topics.stockViews].map(
      (t) => specOf(t).partitions,
    );

    expect(counts).toStrictEqual([12, 12, 12]);
    expect(specOf(Topics.salesMetrics).partitions).toBe(3);
  });

  it('compacts stock-views and keeps item-events forever', () => {
    expect(specOf(Topics.stockViews).configs['cleanup.policy']).toBe('compact');
    expect(specOf(Topics.itemEvents).configs).toMatchObject({
      'cleanup.policy': 'delete',
      'retention.ms': '-1',
    });
    expect(specOf(Topics.salesMetrics).configs).toMatchObject({
      'cleanup.policy': 'delete',
      'retention.ms': String(7 * 24 * 3600 * 1000),
    });
  });

  it('writes every config value as a string, as the admin API wants', () => {
    for (const topic of topicCatalogue) {
      for (const value of Object.values(topic.configs)) expect(typeof value).toBe('string');
    }
  });
});

describe('schemas on topics', () => {
  it('places every schema on exactly one topic', () => {
    const placed = Object.values(schemasOnTopic).flat();

    expect([...placed].sort()).toStrictEqual([...schemaNames].sort());
    expect(topicOf('BuyRequested')).toBe('item-commands');
    expect(topicOf('PurchaseRejected')).toBe('item-events');
    expect(topicOf('StockView')).toBe('stock-views');
    expect(topicOf('SalesMetrics')).toBe('sales-metrics');
  });
});

describe('keyOf', () => {
  it('is the itemId as UTF-8 bytes', () => {
    expect([...keyOf('ü-1')]).toStrictEqual([0xc3, 0xbc, 0x2d, 0x31]);
  });

  it('refuses an empty itemId, which would pile every such record onto one partition', () => {
    expect(() => keyOf('')).toThrow(ContractError);
  });
});
