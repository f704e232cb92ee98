// Record headers that say how to read a value, and reading them the way Kafka clients hand them over.

export const HeaderNames = {
  /** Full schema name, e.g. `buynow.ItemBought`. */
  schema: 'schema',
  /** Schema version the value was written with: a positive integer as decimal text. */
  schemaVersion: 'schema-version',
  contentType: 'content-type',
} as const;

export const AVRO_CONTENT_TYPE = 'avro/binary';

/** One header value as kafkajs delivers it: a repeated header key arrives as an array. */
export type HeaderValue = Buffer | string | readonly (Buffer | string)[] | undefined;
export type IncomingHeaders = Readonly<Record<string, HeaderValue>>;

/**
 * The text of a header, or undefined if absent or empty. When a key repeats, the last value wins, as in
 * Kafka's own `Headers.lastHeader`: a relay that appends a corrected header must not be overruled.
 */
export function headerText(headers: IncomingHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const last = Array.isArray(raw) ? (raw as readonly (Buffer | string)[])[raw.length - 1] : raw;
  if (last === undefined) return undefined;
  const text = typeof last === 'string' ? last : (last as Buffer).toString('utf8');
  return text === '' ? undefined : text;
}
