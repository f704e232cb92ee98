// Record headers that say how to read a value, and reading them the way Kafka clients hand them over.

export const HeaderNames = {
  /** Full schema name, e.g. `buynow.ItemBought`. */
  schema: 'schema',
  /** Schema version the value was written with: a positive integer as decimal text. */
  schemaVersion: 'schema-version',
  contentType: 'content-type',
  /**
   * On stock-views only: `<partition>:<offset>` of the last item-events record folded into the view. A
   * restore refolds item-events from the next offset, so a view that won on the compacted topic although
   * it was older (written late by an instance that had lost the partition) is brought up to date.
   */
  viewSource: 'view-source',
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

/** Where in item-events a view was folded up to: the partition and offset of its last event. */
export interface ViewSource {
  partition: number;
  offset: bigint;
}

export function formatViewSource(source: ViewSource): string {
  return `${source.partition}:${source.offset}`;
}

/** The position a view-source header names, or undefined when it is absent or malformed. */
export function parseViewSource(text: string | undefined): ViewSource | undefined {
  const match = text === undefined ? null : /^(\d{1,9}):(\d{1,19})$/.exec(text);
  if (match === null) return undefined;
  return { partition: Number(match[1]), offset: BigInt(match[2] as string) };
}
