import { logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../src/backoff.js';
import { toConsumedRecord } from '../src/batch-consumer.js';
import { DLQ_HEADERS, deadLetterRecordFor, defaultDeadLetterTopic } from '../src/dead-letter.js';
import { assignOffsets } from '../src/durable-producer.js';
import { canRetryAfter, KafkaError } from '../src/errors.js';
import { createLogCreator, kafkajsLevelFor, pinoLevelOf } from '../src/log-bridge.js';
import type { ConsumedRecord, RecordToSend } from '../src/records.js';

describe('backoffDelayMs', () => {
  const options = { initialMs: 100, maxMs: 1000, jitter: 0 };
  it('doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 50].map((attempt) => backoffDelayMs(attempt, options))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
  it('randomises only the jitter fraction', () => {
    expect(backoffDelayMs(1, { ...options, jitter: 0.5 }, () => 0)).toBe(50);
    expect(backoffDelayMs(1, { ...options, jitter: 0.5 }, () => 1)).toBe(100);
  });
});

describe('deadLetterRecordFor', () => {
  const record: ConsumedRecord = {
    topic: 'item-commands',
    partition: 3,
    offset: '42',
    key: Buffer.from('item-1'),
    value: Buffer.from([0xde, 0xad]),
    headers: { 'schema-name': 'BuyRequested', binary: Buffer.from([1, 2, 3]), missing: undefined },
    timestamp: 1_700_000_000_000,
  };
  it('keeps key, value and original headers, and says why and where from', () => {
    const at = new Date('2025-01-02T03:04:05.000Z');
    const dead = deadLetterRecordFor(
      record,
      new TypeError('bad avro'),
      defaultDeadLetterTopic(record.topic),
      at,
    );
    expect(dead.topic).toBe('item-commands.dlq');
    expect(dead.key).toEqual(record.key);
    expect(dead.value).toEqual(record.value);
    expect(dead.headers).toEqual({
      'schema-name': 'BuyRequested',
      binary: Buffer.from([1, 2, 3]),
      [DLQ_HEADERS.reason]: 'TypeError: bad avro',
      [DLQ_HEADERS.sourceTopic]: 'item-commands',
      [DLQ_HEADERS.sourcePartition]: '3',
      [DLQ_HEADERS.sourceOffset]: '42',
      [DLQ_HEADERS.at]: '2025-01-02T03:04:05.000Z',
    });
  });
  it('bounds the reason so a huge error message cannot make the record too large', () => {
    const dead = deadLetterRecordFor(record, 'x'.repeat(10_000), 't.dlq', new Date());
    expect(String(dead.headers?.[DLQ_HEADERS.reason]).length).toBeLessThanOrEqual(1001);
  });
  it('leaves out a value too big for the dead-letter producer, and says how big it was', () => {
    const big = { ...record, value: Buffer.alloc(2_000, 7) };
    const kept = deadLetterRecordFor(big, 'x', 't.dlq', new Date(), 10_000);
    expect(kept.value).toEqual(big.value);
    expect(kept.headers?.[DLQ_HEADERS.valueOmitted]).toBeUndefined();
    const omitted = deadLetterRecordFor(big, 'x', 't.dlq', new Date(), 1_000);
    expect(omitted.value).toBeNull();
    expect(omitted.key).toEqual(big.key);
    expect(omitted.headers).toMatchObject({
      [DLQ_HEADERS.valueOmitted]: '2000',
      [DLQ_HEADERS.sourceOffset]: '42',
      'schema-name': 'BuyRequested',
    });
  });
});

describe('assignOffsets', () => {
  it("gives each record its partition's base offset plus its position within that partition", () => {
    const records: RecordToSend[] = ['a', 'b', 'c', 'd'].map((key) => ({
      topic: 't',
      key,
      value: Buffer.from(key),
    }));
    const messages: Message[] = records.map((record) => ({ key: record.key, value: record.value }));
    const partitionOf = new WeakMap<Message, number>([
      [messages[0]!, 1],
      [messages[1]!, 0],
      [messages[2]!, 1],
      [messages[3]!, 1],
    ]);
    const acknowledged = [
      { topicName: 't', partition: 0, errorCode: 0, baseOffset: '10' },
      { topicName: 't', partition: 1, errorCode: 0, baseOffset: '9007199254740993' },
    ];
    expect(assignOffsets(records, messages, acknowledged, partitionOf)).toEqual([
      { topic: 't', partition: 1, offset: '9007199254740993' },
      { topic: 't', partition: 0, offset: '10' },
      { topic: 't', partition: 1, offset: '9007199254740994' },
      { topic: 't', partition: 1, offset: '9007199254740995' },
    ]);
  });
});

describe('toConsumedRecord', () => {
  it('keeps the last value of a repeated header and turns the timestamp into a number', () => {
    const record = toConsumedRecord('t', 2, {
      key: null,
      value: Buffer.from('v'),
      offset: '5',
      timestamp: '1700000000123',
      attributes: 0,
      headers: { trace: [Buffer.from('1'), Buffer.from('2')], plain: 'x' },
    });
    expect(record).toEqual({
      topic: 't',
      partition: 2,
      offset: '5',
      key: null,
      value: Buffer.from('v'),
      headers: { trace: Buffer.from('2'), plain: 'x' },
      timestamp: 1_700_000_000_123,
    });
  });
});

describe('canRetryAfter', () => {
  it('looks through the "retries exceeded" wrapper at the real cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { retriable: true });
    const wrapper = Object.assign(new Error('retries exceeded', { cause: refused }), { retriable: false });
    expect(canRetryAfter(wrapper)).toBe(true);
    const tooLarge = Object.assign(new Error('MESSAGE_TOO_LARGE'), { retriable: false });
    expect(
      canRetryAfter(Object.assign(new Error('retries exceeded', { cause: tooLarge }), { retriable: false })),
    ).toBe(false);
  });
  it('trusts our own errors', () => {
    expect(canRetryAfter(new KafkaError('KAFKA_PRODUCER_STOPPED', 'stopped', { canRetry: false }))).toBe(
      false,
    );
  });
});

describe('log bridge', () => {
  it('maps kafkajs levels onto pino levels', () => {
    expect([logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG].map(pinoLevelOf)).toEqual([
      'error',
      'warn',
      'info',
      'debug',
    ]);
  });
  it('writes kafkajs entries as pino lines, demoting the noise kafkajs handles itself', () => {
    const lines: { level: number; msg: string; namespace: string; component: string; groupId?: string }[] =
      [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[0]) },
    );
    const log = createLogCreator(logger)(logLevel.DEBUG);
    const entry = (namespace: string, level: logLevel, message: string, extra: object = {}) =>
      log({ namespace, level, label: '', log: { timestamp: 'ts', logger: 'kafkajs', message, ...extra } });
    entry('Runner', logLevel.ERROR, 'Crash', { groupId: 'g' });
    entry('Connection', logLevel.ERROR, 'Response Metadata(key: 3, version: 6)');
    entry(
      'Producer',
      logLevel.WARN,
      'Limiting retries for the idempotent producer may invalidate EoS guarantees',
    );
    entry('Consumer', logLevel.WARN, 'Something else');
    expect(
      lines.map(({ level, msg, namespace, component }) => ({ level, msg, namespace, component })),
    ).toEqual([
      { level: 50, msg: 'Crash', namespace: 'Runner', component: 'kafkajs' },
      {
        level: 20,
        msg: 'Response Metadata(key: 3, version: 6)',
        namespace: 'Connection',
        component: 'kafkajs',
      },
      {
        level: 30,
        msg: 'Limiting retries for the idempotent producer may invalidate EoS guarantees',
        namespace: 'Producer',
        component: 'kafkajs',
      },
      { level: 40, msg: 'Something else', namespace: 'Consumer', component: 'kafkajs' },
    ]);
    expect(lines[0]!.groupId).toBe('g');
  });

  it("follows the pino logger's threshold", () => {
    expect(kafkajsLevelFor(pino({ level: 'debug' }))).toBe(logLevel.DEBUG);
    expect(kafkajsLevelFor(pino({ level: 'info' }))).toBe(logLevel.INFO);
    expect(kafkajsLevelFor(pino({ level: 'warn' }))).toBe(logLevel.WARN);
    expect(kafkajsLevelFor(pino({ level: 'silent' }))).toBe(logLevel.NOTHING);
  });
});
