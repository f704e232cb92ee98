// The subset of Avro schema JSON these contracts use; typed so a typo in a schema fails to compile.

export type AvroPrimitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

export interface AvroEnumSchema {
  type: 'enum';
  name: string;
  namespace?: string;
  doc?: string;
  symbols: readonly string[];
  default?: string;
}

export type AvroFieldType = AvroPrimitive | AvroEnumSchema | readonly (AvroPrimitive | AvroEnumSchema)[];

export interface AvroField {
  name: string;
  type: AvroFieldType;
  doc?: string;
  default?: string | number | boolean | null;
}

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace: 'buynow';
  doc?: string;
  fields: readonly AvroField[];
}

export const NAMESPACE = 'buynow';
