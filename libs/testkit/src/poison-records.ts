// fast-check generators of records a consumer must refuse, for the consumers' fuzzing suites: random bytes,
// truncated Avro, trailing bytes, Avro of a schema that does not belong on the topic, headers that lie,
// are missing or are wrong, a key that is not the itemId, and well-typed values the contract refuses (a
// negative count, an empty id, a lower-case currency). Each record is run through the contract's own
// decoder, so the dead-letter reason it must get is known exactly.
import avro from 'avsc';
import fc from 'fast-check';
import {
  AVRO_CONTENT_TYPE,
  avroSchemaOf,
  ContractError,
  decodeRecordAs,
  encode,
  fullNameOf,
  HeaderNames,
  latestVersionOf,
  type NamedRecord,
  type SchemaName,
} from '@buy-now/contracts';

export interface PoisonRecord {
  /** Which class of poison, for failure messages. */
  kind: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** The `dlq-reason` header the consumer must give it. */
  reason: string;
}

export interface PoisonOptions<N extends SchemaName> {
  /** The schemas the consumed topic carries. */
  allowed: readonly N[];
  /** Valid records of the topic. */
  valid: fc.Arbitrary<NamedRecord<N>>;
  /** Valid records of schemas other topics carry. */
  foreign: fc.Arbitrary<NamedRecord>;
  /** Well-typed values of the topic's schemas that break a rule of the contract (encoded unchecked). */
  invalid: fc.Arbitrary<NamedRecord<N>>;
}

const MAX_REASON_LENGTH = 1000;

/** The reason a consumer of these schemas gives a record on its dead-letter topic; null: it decodes. */
export function deadLetterReasonOf(
  allowed: readonly SchemaName[],
  record: Pick<PoisonRecord, 'key' | 'value' | 'headers'>,
): string | null {
  try {
    decodeRecordAs(allowed, record);
    return null;
  } catch (error) {
    if (!(error instanceof ContractError)) throw error;
    const message = `${error.name}: ${error.message}`;
    return message.length > MAX_REASON_LENGTH ? `${message.slice(0, MAX_REASON_LENGTH)}…` : message;
  }
}

/** Avro bytes of the latest schema without the contract's checks, with the headers encode would write. */
export function encodeUnchecked(record: NamedRecord): {
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
} {
  const type = avro.Type.forSchema(avroSchemaOf(record.name) as avro.Schema);
  return {
    key: Buffer.from(record.value.itemId, 'utf8'),
    value: type.toBuffer(record.value),
    headers: {
      [HeaderNames.schema]: fullNameOf(record.name),
      [HeaderNames.schemaVersion]: String(latestVersionOf(record.name)),
      [HeaderNames.contentType]: AVRO_CONTENT_TYPE,
    },
  };
}

/** Records of every poison class; each one refused by the contract, with its exact reason. */
export function poisonRecords<N extends SchemaName>(options: PoisonOptions<N>): fc.Arbitrary<PoisonRecord> {
  const { allowed } = options;
  const encoded = options.valid.map((record) => ({ record, ...encode(record.name, record.value) }));
  const candidates: fc.Arbitrary<Omit<PoisonRecord, 'reason'>> = fc.oneof<
    fc.Arbitrary<Omit<PoisonRecord, 'reason'>>[]
  >(
    fc.tuple(encoded, fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([e, bytes]) => ({
      kind: 'random bytes',
      key: e.key,
      value: Buffer.from(bytes),
      headers: e.headers,
    })),
    encoded.chain((e) =>
      fc.integer({ min: 0, max: e.value.length - 1 }).map((length) => ({
        kind: `Avro truncated to ${length} of ${e.value.length} bytes`,
        key: e.key,
        value: e.value.subarray(0, length),
        headers: e.headers,
      })),
    ),
    fc.tuple(encoded, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([e, extra]) => ({
      kind: 'Avro with trailing bytes',
      key: e.key,
      value: Buffer.concat([e.value, Buffer.from(extra)]),
      headers: e.headers,
    })),
    options.foreign.map((record) => ({
      kind: `a ${record.name} (another topic's schema)`,
      ...encode(record.name, record.value),
    })),
    fc.tuple(encoded, fc.constantFrom(...allowed)).map(([e, other]) => ({
      kind: `${e.record.name} bytes announced as ${other}`,
      key: e.key,
      value: e.value,
      headers: {
        ...e.headers,
        [HeaderNames.schema]: fullNameOf(other),
        [HeaderNames.schemaVersion]: String(latestVersionOf(other)),
      },
    })),
    fc
      .tuple(
        encoded,
        fc.constantFrom<[string, (h: Record<string, string>) => Record<string, string>]>(
          ['no schema header', ({ [HeaderNames.schema]: _, ...h }) => h],
          ['no schema-version header', ({ [HeaderNames.schemaVersion]: _, ...h }) => h],
          ['no headers at all', () => ({})],
          ['an empty schema header', (h) => ({ ...h, [HeaderNames.schema]: '' })],
          ['an unknown schema', (h) => ({ ...h, [HeaderNames.schema]: 'buynow.NoSuchRecord' })],
          [
            'a schema of another namespace',
            (h) => ({ ...h, [HeaderNames.schema]: `other.${h[HeaderNames.schema] ?? ''}` }),
          ],
          ['schema-version 0', (h) => ({ ...h, [HeaderNames.schemaVersion]: '0' })],
          ['schema-version -1', (h) => ({ ...h, [HeaderNames.schemaVersion]: '-1' })],
          ['schema-version 1.0', (h) => ({ ...h, [HeaderNames.schemaVersion]: '1.0' })],
          ['schema-version abc', (h) => ({ ...h, [HeaderNames.schemaVersion]: 'abc' })],
          ['a future schema-version', (h) => ({ ...h, [HeaderNames.schemaVersion]: '999' })],
          ['content-type JSON', (h) => ({ ...h, [HeaderNames.contentType]: 'application/json' })],
        ),
      )
      .map(([e, [kind, change]]) => ({ kind, key: e.key, value: e.value, headers: change(e.headers) })),
    fc
      .tuple(
        encoded,
        fc.constantFrom<[string, (itemId: string) => Buffer | null]>(
          ['no key', () => null],
          ['an empty key', () => Buffer.alloc(0)],
          ['the key of another item', (itemId) => Buffer.from(`${itemId}-other`)],
          ['the key in upper case', (itemId) => Buffer.from(`X${itemId.toUpperCase()}`)],
          ['the key in UTF-16', (itemId) => Buffer.from(itemId, 'utf16le')],
        ),
      )
      .map(([e, [kind, keyOf]]) => ({
        kind,
        key: keyOf(e.record.value.itemId),
        value: e.value,
        headers: e.headers,
      })),
    options.invalid.map((record) => ({
      kind: `an invalid ${record.name}`,
      ...encodeUnchecked(record as NamedRecord),
    })),
  );
  return candidates
    .map((candidate) => ({ ...candidate, reason: deadLetterReasonOf(allowed, candidate) }))
    .filter((candidate): candidate is PoisonRecord => candidate.reason !== null);
}

/** A record of `bytes` bytes (random, with a valid record's headers and key): big, and still poison. */
export function oversizedRecord<N extends SchemaName>(
  allowed: readonly N[],
  record: NamedRecord<N>,
  bytes: number,
  seed: number,
): PoisonRecord {
  const e = encode(record.name, record.value);
  const value = Buffer.alloc(bytes);
  // A cheap deterministic filler (xorshift): big random buffers would cost more than the test.
  let x = seed | 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    value[i] = x & 0xff;
  }
  const candidate = { kind: `${bytes} random bytes`, key: e.key, value, headers: e.headers };
  const reason = deadLetterReasonOf(allowed, candidate);
  if (reason === null) throw new Error(`${bytes} random bytes decoded as a ${record.name}`);
  return { ...candidate, reason };
}
