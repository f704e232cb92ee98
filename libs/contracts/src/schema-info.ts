// Read-only facts about the registered schemas, for documentation, tooling and tests.
import { ContractError } from './errors.js';
import type { SchemaName } from './records.js';
import { latestOf, versionOf } from './registry.js';
import type { AvroRecordSchema } from './schemas/avro-schema.js';

export { schemaNames } from './registry.js';

/** `buynow.<name>`: the value of the `schema` header. */
export function fullNameOf(name: SchemaName): string {
  return latestOf(name).fullName;
}

export function latestVersionOf(name: SchemaName): number {
  return latestOf(name).version;
}

/** The Avro schema JSON of a version (default: latest), a copy safe to change. */
export function avroSchemaOf(name: SchemaName, version?: number): AvroRecordSchema {
  const entry = version === undefined ? latestOf(name) : versionOf(name, version);
  if (entry === undefined) {
    const { fullName } = latestOf(name);
    throw new ContractError('CONTRACT_UNKNOWN_SCHEMA', `${fullName} has no version ${String(version)}`, {
      schema: fullName,
    });
  }
  return structuredClone(entry.schema);
}
