// encode / decode: the only way a record goes onto or comes off a topic.
import type { Type } from 'avsc';

import { ContractError } from './errors.js';
import { fieldRules } from './field-rules.js';
import { AVRO_CONTENT_TYPE, HeaderNames, headerText } from './headers.js';
import type { IncomingHeaders } from './headers.js';
import type { DecodedRecord, RecordOf, SchemaName } from './records.js';
import { latestOf, schemaNameOf, versionOf } from './registry.js';
import type { RegisteredSchema } from './registry.js';
import { keyOf } from './topics.js';

/** Ready to hand to a producer (add the topic): key = itemId, value = Avro binary, headers name the schema. */
export interface EncodedRecord {
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}

export interface EncodeOptions {
  /**
   * Write an older version than the latest, e.g. while some readers of a rolling upgrade still run it.
   * Fields the older version lacks are dropped. Default: the latest version.
   */
  version?: number;
}

export interface Violation {
  /** Dotted path of the field; '' for the record itself. */
  readonly field: string;
  readonly message: string;
}

/** Encodes a record with the latest version of its schema (or `options.version`). Throws ContractError. */
export function encode<N extends SchemaName>(
  name: N,
  value: RecordOf[N],
  options: EncodeOptions = {},
): EncodedRecord {
  const latest = latestOf(name);
  const target = options.version === undefined ? latest : versionOf(latest.name, options.version);
  if (target === undefined) {
    throw new ContractError(
      'CONTRACT_UNKNOWN_SCHEMA',
      `${latest.fullName} has no version ${String(options.version)} (latest is ${latest.version})`,
      { schema: latest.fullName },
    );
  }
  throwIfInvalid(latest, value, `cannot encode ${latest.fullName}`);
  const written = target === latest ? value : projectOnto(target, value);
  return {
    key: keyOf(value.itemId),
    value: target.type.toBuffer(written),
    headers: {
      [HeaderNames.schema]: target.fullName,
      [HeaderNames.schemaVersion]: String(target.version),
      [HeaderNames.contentType]: AVRO_CONTENT_TYPE,
    },
  };
}

/**
 * Decodes a record written with any known version of its schema into the latest shape. Throws
 * ContractError when the headers, the bytes or the decoded value break the contract.
 */
export function decode(
  headers: IncomingHeaders | undefined,
  value: Buffer | null | undefined,
): DecodedRecord {
  return decodeWith(schemaFromHeaders(headers), value);
}

/**
 * Like decode, but only accepts the given schemas, e.g. `decodeAs(schemasOnTopic['item-events'], …)`; any
 * other schema throws CONTRACT_UNEXPECTED_SCHEMA before the bytes are read.
 */
export function decodeAs<const N extends SchemaName>(
  expected: readonly N[],
  headers: IncomingHeaders | undefined,
  value: Buffer | null | undefined,
): DecodedRecord<N> {
  const writer = schemaFromHeaders(headers);
  if (!(expected as readonly SchemaName[]).includes(writer.name)) {
    throw new ContractError(
      'CONTRACT_UNEXPECTED_SCHEMA',
      `${writer.fullName} is not expected here (expected ${expected.join(', ')})`,
      { schema: writer.fullName, version: writer.version },
    );
  }
  return decodeWith(writer, value) as DecodedRecord<N>;
}

/** A consumed record as decodeRecordAs reads it. */
export interface IncomingRecord {
  readonly key: Buffer | string | null | undefined;
  readonly headers: IncomingHeaders | undefined;
  readonly value: Buffer | null | undefined;
}

/**
 * Like decodeAs, and the key must be the value's itemId (UTF-8), as encode writes it. A record under
 * another key (or none) sits on another partition than the rest of its item, outside their order: it
 * throws CONTRACT_KEY_MISMATCH, and consumers dead-letter it like any other record breaking the contract.
 */
export function decodeRecordAs<const N extends SchemaName>(
  expected: readonly N[],
  record: IncomingRecord,
): DecodedRecord<N> {
  const decoded = decodeAs(expected, record.headers, record.value);
  const itemId = (decoded.value as { readonly itemId: string }).itemId;
  const key = typeof record.key === 'string' ? Buffer.from(record.key, 'utf8') : record.key;
  if (key === null || key === undefined || !key.equals(Buffer.from(itemId, 'utf8'))) {
    const shown =
      key === null || key === undefined ? 'no key' : `key ${JSON.stringify(key.toString('utf8'))}`;
    const writer = latestOf(decoded.name).fullName;
    throw new ContractError(
      'CONTRACT_KEY_MISMATCH',
      `${writer} record has ${shown}, expected its itemId ${JSON.stringify(itemId)}`,
      { schema: writer, version: decoded.version, fields: ['itemId'] },
    );
  }
  return decoded;
}

/** Everything wrong with a value against the latest version of a schema; empty when it is valid. */
export function violationsOf(name: SchemaName, value: unknown): readonly Violation[] {
  return findViolations(latestOf(name), value);
}

function schemaFromHeaders(headers: IncomingHeaders | undefined): RegisteredSchema {
  const fullName = headerText(headers, HeaderNames.schema);
  const versionText = headerText(headers, HeaderNames.schemaVersion);
  const missing = [
    ...(fullName === undefined ? [HeaderNames.schema] : []),
    ...(versionText === undefined ? [HeaderNames.schemaVersion] : []),
  ];
  if (fullName === undefined || versionText === undefined) {
    throw new ContractError('CONTRACT_MISSING_HEADER', `record has no ${missing.join(' or ')} header`);
  }
  const contentType = headerText(headers, HeaderNames.contentType);
  if (contentType !== undefined && contentType !== AVRO_CONTENT_TYPE) {
    throw new ContractError(
      'CONTRACT_DECODE_FAILED',
      `${fullName} has content-type ${contentType}, expected ${AVRO_CONTENT_TYPE}`,
      { schema: fullName },
    );
  }
  const name = schemaNameOf(fullName);
  if (name === undefined) {
    throw new ContractError('CONTRACT_UNKNOWN_SCHEMA', `unknown schema ${JSON.stringify(fullName)}`, {
      schema: fullName,
    });
  }
  const version = /^[1-9][0-9]{0,8}$/.test(versionText) ? Number(versionText) : undefined;
  const writer = version === undefined ? undefined : versionOf(name, version);
  if (writer === undefined) {
    const latest = latestOf(name).version;
    // A version newer than ours means a writer was deployed before this reader: readers go first.
    throw new ContractError(
      'CONTRACT_UNKNOWN_SCHEMA',
      `${fullName} version ${JSON.stringify(versionText)} is unknown to this reader (it knows 1..${latest})`,
      { schema: fullName, ...(version === undefined ? {} : { version }) },
    );
  }
  return writer;
}

function decodeWith(writer: RegisteredSchema, bytes: Buffer | null | undefined): DecodedRecord {
  const where = `${writer.fullName} v${writer.version}`;
  if (bytes === null || bytes === undefined || bytes.length === 0) {
    throw new ContractError('CONTRACT_MISSING_VALUE', `${where} record has no value`, {
      schema: writer.fullName,
      version: writer.version,
    });
  }
  const reader = latestOf(writer.name);
  let decoded: unknown;
  try {
    // fromBuffer also refuses trailing bytes: a value longer than its schema is not what it claims to be.
    decoded = reader.type.fromBuffer(bytes, writer.resolver) as unknown;
  } catch (error) {
    throw new ContractError(
      'CONTRACT_DECODE_FAILED',
      `cannot decode ${where} (${bytes.length} bytes): ${error instanceof Error ? error.message : String(error)}`,
      { schema: writer.fullName, version: writer.version },
      { cause: error },
    );
  }
  // avsc hands back instances of generated classes; consumers get plain data.
  const value = { ...(decoded as object) };
  throwIfInvalid(reader, value, `decoded ${where} is invalid`, writer.version);
  return { name: writer.name, version: writer.version, value } as DecodedRecord;
}

function throwIfInvalid(schema: RegisteredSchema, value: unknown, what: string, version?: number): void {
  const violations = findViolations(schema, value);
  if (violations.length === 0) return;
  throw new ContractError(
    'CONTRACT_INVALID_RECORD',
    `${what}: ${violations.map((v) => v.message).join('; ')}`,
    {
      schema: schema.fullName,
      version: version ?? schema.version,
      fields: violations.map((v) => v.field),
    },
  );
}

function findViolations(schema: RegisteredSchema, value: unknown): Violation[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ field: '', message: `expected a ${schema.fullName} record, got ${show(value)}` }];
  }
  const violations: Violation[] = [];
  schema.type.isValid(value, {
    errorHook: (path: string[], actual: unknown, type: Type) => {
      const field = path.join('.');
      violations.push({ field, message: `${field}: expected ${describe(type)}, got ${show(actual)}` });
    },
  });
  for (const [field, actual] of Object.entries(value)) {
    if (actual !== undefined && !schema.fieldNames.has(field)) {
      violations.push({ field, message: `${field}: not a field of ${schema.fullName}` });
    }
  }
  const record = value as Readonly<Record<string, unknown>>;
  for (const rule of fieldRules[schema.name]) {
    if (violations.some((v) => v.field === rule.field) || rule.holds(record)) continue;
    violations.push({
      field: rule.field,
      message: `${rule.field}: expected ${rule.expected}, got ${show(record[rule.field])}`,
    });
  }
  return violations;
}

/** The value as an older version would carry it: only that version's fields, its defaults for the rest. */
function projectOnto(target: RegisteredSchema, value: object): Record<string, unknown> {
  const source = value as Readonly<Record<string, unknown>>;
  const projected: Record<string, unknown> = {};
  for (const field of target.fieldNames) {
    if (source[field] !== undefined) projected[field] = source[field];
  }
  throwIfInvalid(target, projected, `cannot write ${target.fullName} v${target.version}`);
  return projected;
}

function describe(type: Type): string {
  const { typeName } = type;
  if (typeName === 'enum') {
    return `one of ${(type as Type & { symbols: readonly string[] }).symbols.join(', ')}`;
  }
  if (typeName.startsWith('union')) {
    return (type as Type & { types: readonly Type[] }).types.map(describe).join(' or ');
  }
  if (typeName === 'record') return `a ${type.name ?? 'record'} record`;
  return typeName;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
