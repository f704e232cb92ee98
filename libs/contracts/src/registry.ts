// Every (schema name, version) → Avro type, plus the resolvers that read each older version with the
// latest. Built once at import so an incompatible schema change fails loudly at start-up and in tests.
import avro from 'avsc';
import type { Resolver, Type } from 'avsc';

import { ContractError } from './errors.js';
import type { SchemaName } from './records.js';
import { NAMESPACE } from './schemas/avro-schema.js';
import type { AvroRecordSchema } from './schemas/avro-schema.js';
import { adjustStockV1, buyRequestedV1, buyRequestedV2, listItemV1 } from './schemas/item-commands.js';
import {
  itemBoughtV1,
  itemListedV1,
  outOfStockV1,
  purchaseRejectedV1,
  purchaseRejectedV2,
  stockAdjustedV1,
} from './schemas/item-events.js';
import { salesMetricsV1, stockViewV1 } from './schemas/views.js';

/** Published versions of each schema, oldest first: index 0 is version 1. Append, never edit. */
const history: { readonly [N in SchemaName]: readonly AvroRecordSchema[] } = {
  ListItem: [listItemV1],
  AdjustStock: [adjustStockV1],
  BuyRequested: [buyRequestedV1, buyRequestedV2],
  ItemListed: [itemListedV1],
  StockAdjusted: [stockAdjustedV1],
  ItemBought: [itemBoughtV1],
  PurchaseRejected: [purchaseRejectedV1, purchaseRejectedV2],
  OutOfStock: [outOfStockV1],
  StockView: [stockViewV1],
  SalesMetrics: [salesMetricsV1],
};

export interface RegisteredSchema {
  readonly name: SchemaName;
  readonly fullName: string;
  readonly version: number;
  readonly schema: AvroRecordSchema;
  readonly type: Type;
  readonly fieldNames: ReadonlySet<string>;
  /** Reads bytes of this version into the latest version's shape; undefined for the latest itself. */
  readonly resolver: Resolver | undefined;
}

interface Entry {
  readonly latest: RegisteredSchema;
  readonly versions: readonly RegisteredSchema[];
}

export const schemaNames = Object.freeze(Object.keys(history) as SchemaName[]);

function buildEntry(name: SchemaName, schemas: readonly AvroRecordSchema[]): Entry {
  const fullName = `${NAMESPACE}.${name}`;
  // Each version gets its own avsc registry: all versions share one full name.
  const types = schemas.map((schema, index) => {
    const type = avro.Type.forSchema(schema as unknown as avro.Schema, { registry: {} });
    if (type.name !== fullName) {
      throw new Error(`schema version ${index + 1} of ${name} is named ${type.name}, expected ${fullName}`);
    }
    return type;
  });
  const latestType = types[types.length - 1];
  if (latestType === undefined) throw new Error(`schema ${name} has no version`);
  const versions = types.map((type, index): RegisteredSchema => {
    const schema = schemas[index] as AvroRecordSchema;
    return {
      name,
      fullName,
      version: index + 1,
      schema,
      type,
      fieldNames: new Set(schema.fields.map((field) => field.name)),
      // Throws if the latest reader cannot read this version: the evolution broke compatibility.
      resolver: type === latestType ? undefined : latestType.createResolver(type),
    };
  });
  return { latest: versions[versions.length - 1] as RegisteredSchema, versions };
}

const entries = new Map<SchemaName, Entry>(
  schemaNames.map((name) => [name, buildEntry(name, history[name])]),
);
const byFullName = new Map<string, SchemaName>(schemaNames.map((name) => [`${NAMESPACE}.${name}`, name]));

// Names come from TypeScript callers, but a cast or plain JavaScript can still pass anything.
function entryOf(name: SchemaName): Entry {
  const entry = entries.get(name);
  if (entry === undefined) {
    throw new ContractError('CONTRACT_UNKNOWN_SCHEMA', `unknown schema ${JSON.stringify(name)}`);
  }
  return entry;
}

export function schemaNameOf(fullName: string): SchemaName | undefined {
  return byFullName.get(fullName);
}

/** Throws CONTRACT_UNKNOWN_SCHEMA for a name that is not registered. */
export function latestOf(name: SchemaName): RegisteredSchema {
  return entryOf(name).latest;
}

/** Throws CONTRACT_UNKNOWN_SCHEMA for an unknown name; undefined for an unknown version. */
export function versionOf(name: SchemaName, version: number): RegisteredSchema | undefined {
  return Number.isInteger(version) && version >= 1 ? entryOf(name).versions[version - 1] : undefined;
}
