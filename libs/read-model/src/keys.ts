// Where the read model lives in Redis. One hash per item, hash-tagged by item so that it shares a slot
// with the item's other keys on Redis Cluster; the set of item ids lives in a slot of its own.

export interface StockViewKeys {
  /** `${prefix}view:{item:<itemId>}`: a hash with every StockView field. */
  view(itemId: string): string;
  /** `${prefix}view-items`: the set of item ids that have a view. */
  readonly items: string;
  /** SCAN pattern matching every view hash (and nothing else) under this prefix. */
  readonly viewPattern: string;
}

export function stockViewKeys(prefix: string): StockViewKeys {
  return {
    view: (itemId) => `${prefix}view:{item:${itemId}}`,
    items: `${prefix}view-items`,
    viewPattern: `${escapeGlob(prefix)}view:{item:*}`,
  };
}

// SCAN MATCH takes a glob: a prefix with * ? [ ] or \ must not widen the match to other keys.
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
