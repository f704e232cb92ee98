// The WebSocket protocol of live views, as pure functions: what a client may send, and how a message
// changes a connection's subscriptions and watches. A message that breaks a rule changes nothing.
//
// Client → server (text frames, JSON; any combination of the three fields):
//   {"subscribe": ["<itemId>" | "*", …]}    stock of these items ("*": every item)
//   {"unsubscribe": ["<itemId>" | "*", …]}
//   {"watch": ["<purchaseId>", …]}          the outcome of these purchases, once decided
//   {"follow": ["metrics" | "lag", …]}      dashboard feeds; "unfollow" stops them
// Server → client:
//   {"type": "stock", "view": {…item as GET /items/:id…}}
//   {"type": "purchase", "purchase": {purchaseId, itemId, status, reason?}}
//   {"type": "metrics", "metrics": [SalesMetrics…]}   recent windows at once, then each as it closes
//   {"type": "lag", "at": <ms>, "groups": [{group, groupId, topic, lag}]}   every ~1.5 s
//   {"type": "error", "error": {code, message}}

export const EVERY_ITEM = '*';

export type LiveErrorCode =
  | 'MALFORMED_JSON'
  | 'UNKNOWN_FIELD'
  | 'INVALID_MESSAGE'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOO_MANY_WATCHES'
  | 'PURCHASE_NOT_FOUND'
  /** Redis could not be read; the request was taken all the same. */
  | 'SERVICE_UNAVAILABLE';

export interface LiveError {
  code: LiveErrorCode;
  message: string;
}

export const FEEDS = ['metrics', 'lag'] as const;
export type Feed = (typeof FEEDS)[number];

export interface ClientRequest {
  subscribe: string[];
  unsubscribe: string[];
  watch: string[];
  follow: Feed[];
  unfollow: Feed[];
}

export type ParsedRequest = { ok: true; request: ClientRequest } | { ok: false; error: LiveError };

const FIELDS = ['subscribe', 'unsubscribe', 'watch', 'follow', 'unfollow'] as const;
type Field = (typeof FIELDS)[number];

export function parseClientRequest(text: string, idPattern: RegExp): ParsedRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refused('MALFORMED_JSON', 'the message is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return refused(
      'INVALID_MESSAGE',
      'send a JSON object with subscribe, unsubscribe, watch, follow or unfollow',
    );
  }
  const fields = Object.keys(parsed);
  const unknown = fields.filter((field) => !(FIELDS as readonly string[]).includes(field));
  if (unknown.length > 0) {
    return refused(
      'UNKNOWN_FIELD',
      `unknown field ${unknown.map((f) => JSON.stringify(f)).join(', ')}: use ${FIELDS.join(', ')}`,
    );
  }
  if (fields.length === 0) {
    return refused(
      'INVALID_MESSAGE',
      'send a JSON object with subscribe, unsubscribe, watch, follow or unfollow',
    );
  }
  const request: ClientRequest = { subscribe: [], unsubscribe: [], watch: [], follow: [], unfollow: [] };
  for (const field of FIELDS) {
    const value = (parsed as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (field === 'follow' || field === 'unfollow') {
      const feeds = feedsOf(field, value);
      if (typeof feeds === 'string') return refused('INVALID_MESSAGE', feeds);
      request[field] = feeds;
      continue;
    }
    const ids = idsOf(field, value, idPattern);
    if (typeof ids === 'string') return refused('INVALID_MESSAGE', ids);
    request[field] = ids;
  }
  return { ok: true, request };
}

function feedsOf(field: 'follow' | 'unfollow', value: unknown): Feed[] | string {
  const known = (feed: unknown): feed is Feed => (FEEDS as readonly unknown[]).includes(feed);
  if (!Array.isArray(value)) return `${field} must be an array of ${FEEDS.map((f) => `"${f}"`).join(', ')}`;
  const bad: unknown = (value as unknown[]).find((feed) => !known(feed));
  if (bad !== undefined) return `${field}: ${JSON.stringify(bad)} is not one of ${FEEDS.join(', ')}`;
  return [...new Set(value as Feed[])];
}

function idsOf(
  field: Exclude<Field, 'follow' | 'unfollow'>,
  value: unknown,
  idPattern: RegExp,
): string[] | string {
  const what = field === 'watch' ? 'purchase ids' : 'item ids or "*"';
  if (!Array.isArray(value)) return `${field} must be an array of ${what}`;
  const ids: string[] = [];
  for (const id of value) {
    const allowed =
      typeof id === 'string' && (idPattern.test(id) || (field !== 'watch' && id === EVERY_ITEM));
    if (!allowed) return `${field}: ${JSON.stringify(id)} is not one of the ${what}`;
    ids.push(id);
  }
  return [...new Set(ids)];
}

export type SubscriptionChange =
  | { ok: true; subscriptions: Set<string>; added: string[]; removed: string[] }
  | { ok: false; error: LiveError };

/** Unsubscribes first, then subscribes; refuses the whole change if it would pass the cap. */
export function changeSubscriptions(
  current: ReadonlySet<string>,
  request: Pick<ClientRequest, 'subscribe' | 'unsubscribe'>,
  max: number,
): SubscriptionChange {
  const next = new Set(current);
  const removed = request.unsubscribe.filter((id) => next.delete(id));
  const added = request.subscribe.filter((id) => !next.has(id));
  for (const id of added) next.add(id);
  if (next.size > max) {
    return refused(
      'TOO_MANY_SUBSCRIPTIONS',
      `at most ${max} subscriptions per connection ("*" counts as one); this would make ${next.size}`,
    );
  }
  return { ok: true, subscriptions: next, added, removed: removed.filter((id) => !next.has(id)) };
}

export type WatchChange = { ok: true; added: string[] } | { ok: false; error: LiveError };

export function addWatches(
  current: ReadonlySet<string>,
  purchaseIds: readonly string[],
  max: number,
): WatchChange {
  const added = purchaseIds.filter((id) => !current.has(id));
  if (current.size + added.length > max) {
    return refused(
      'TOO_MANY_WATCHES',
      `at most ${max} undecided purchases watched per connection; this would make ${current.size + added.length}`,
    );
  }
  return { ok: true, added };
}

function refused(code: LiveErrorCode, message: string): { ok: false; error: LiveError } {
  return { ok: false, error: { code, message } };
}
