// The load of a fault-injection run: HTTP buyers (bounded count and time, 127.0.0.1 only) against the
// gateways, admin listings and restocks. Every request and its answer (or connection error) is recorded:
// the history the checker reads.
import { randomUUID } from 'node:crypto';
import { signBuyerToken } from '@buy-now/buyer-auth';
import type { Random } from './random.js';

export interface BuyNowRequest {
  itemId: string;
  buyerId: string;
  quantity: number;
  idempotencyKey: string;
  /** e.g. 'wait=5' (RFC 7240): answer once decided, or after that long. */
  prefer?: string;
}

/** One HTTP request and what came back. */
export interface BuyAttempt extends BuyNowRequest {
  attempt: number;
  gateway: string;
  sentAt: number;
  answeredAt: number;
  /** HTTP status; undefined when no answer came (connection refused, reset, timeout). */
  status?: number;
  purchaseId?: string;
  /** The rejection reason (409) or the error code of another refusal. */
  reason?: string;
  /** Why no answer came, e.g. ECONNREFUSED. */
  connectionError?: string;
}

export interface Gateway {
  name: string;
  baseUrl: string;
}

const REQUEST_TIMEOUT_MS = 40_000;

interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function http(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  json?: unknown,
): Promise<HttpAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  if ((response.headers.get('content-type') ?? '').includes('application/json') && text.length > 0) {
    body = JSON.parse(text) as Record<string, unknown>;
  }
  return { status: response.status, body };
}

function connectionErrorOf(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'TIMEOUT';
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (typeof cause?.code === 'string') return cause.code;
    return error.message;
  }
  return String(error);
}

/**
 * The one way a buyer's purchase is sent: headers and body of POST /items/:id/buy-now. Buyer credentials,
 * when the gateway asks for them, belong here and nowhere else.
 */
/** The gateways of a run verify buyer tokens with this secret. */
export const CHAOS_BUYER_TOKEN_SECRET = 'chaos-buyer-token-secret-0123456789abcdef';
const tokens = new Map<string, string>();

/** A buyer's token, signed once per run (valid for an hour, longer than any run). */
function tokenOf(buyerId: string): string {
  let token = tokens.get(buyerId);
  if (token === undefined) {
    token = signBuyerToken({ secret: CHAOS_BUYER_TOKEN_SECRET, buyerId });
    tokens.set(buyerId, token);
  }
  return token;
}

export async function sendBuyNow(
  gateway: Gateway,
  request: BuyNowRequest,
  attempt: number,
): Promise<BuyAttempt> {
  const sentAt = Date.now();
  const record: BuyAttempt = { ...request, attempt, gateway: gateway.name, sentAt, answeredAt: sentAt };
  try {
    const answer = await http(
      gateway.baseUrl,
      'POST',
      `/items/${encodeURIComponent(request.itemId)}/buy-now`,
      {
        'idempotency-key': request.idempotencyKey,
        authorization: `Bearer ${tokenOf(request.buyerId)}`,
        ...(request.prefer === undefined ? {} : { prefer: request.prefer }),
      },
      { buyerId: request.buyerId, quantity: request.quantity },
    );
    record.status = answer.status;
    if (typeof answer.body.purchaseId === 'string') record.purchaseId = answer.body.purchaseId;
    // A 409 DUPLICATE_REQUEST answers with the purchase this key already made (Redis had forgotten the
    // key, SQL had not): that is the key's purchase, not the retry's withdrawn admission.
    if (typeof answer.body.originalPurchaseId === 'string')
      record.purchaseId = answer.body.originalPurchaseId;
    const error = answer.body.error as { code?: unknown } | undefined;
    const reason = typeof answer.body.reason === 'string' ? answer.body.reason : error?.code;
    if (typeof reason === 'string') record.reason = reason;
  } catch (error) {
    record.connectionError = connectionErrorOf(error);
  }
  record.answeredAt = Date.now();
  return record;
}

export interface ItemPlan {
  itemId: string;
  stock: number;
  perBuyerLimit: number;
}

export interface AdminCall {
  kind: 'list' | 'restock';
  itemId: string;
  delta?: number;
  gateway: string;
  at: number;
  status?: number;
  connectionError?: string;
}

export interface AdminClient {
  /** Lists the item (retrying through faults) and waits until a gateway serves it. */
  list(item: ItemPlan): Promise<void>;
  /** One restock attempt; recorded whatever the answer. */
  restock(itemId: string, delta: number): Promise<AdminCall>;
  calls(): readonly AdminCall[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createAdminClient(
  gateways: readonly Gateway[],
  adminToken: string,
  random: Random,
): AdminClient {
  const calls: AdminCall[] = [];
  const auth = { authorization: `Bearer ${adminToken}` };
  const call = async (
    kind: AdminCall['kind'],
    itemId: string,
    path: string,
    json: unknown,
    delta?: number,
  ): Promise<AdminCall> => {
    const gateway = random.pick(gateways);
    const record: AdminCall = { kind, itemId, gateway: gateway.name, at: Date.now() };
    if (delta !== undefined) record.delta = delta;
    try {
      record.status = (await http(gateway.baseUrl, 'POST', path, auth, json)).status;
    } catch (error) {
      record.connectionError = connectionErrorOf(error);
    }
    calls.push(record);
    return record;
  };
  return {
    async list(item) {
      for (let attempt = 0; ; attempt++) {
        const answer = await call('list', item.itemId, '/admin/items', {
          itemId: item.itemId,
          title: `Chaos item ${item.itemId}`,
          priceMinor: 4_900,
          currency: 'EUR',
          stock: item.stock,
          perBuyerLimit: item.perBuyerLimit,
        });
        // 409 ITEM_EXISTS: an earlier attempt's answer was lost, but the listing went through.
        if (answer.status === 201 || answer.status === 202 || answer.status === 409) break;
        if (attempt > 20) throw new Error(`listing ${item.itemId} failed: ${JSON.stringify(answer)}`);
        await sleep(1_000);
      }
      for (let attempt = 0; ; attempt++) {
        const gateway = gateways[attempt % gateways.length] as Gateway;
        const answer = await http(gateway.baseUrl, 'GET', `/items/${item.itemId}`, {}).catch(() => undefined);
        if (answer?.status === 200) return;
        if (attempt > 300) throw new Error(`item ${item.itemId} never appeared on GET /items`);
        await sleep(200);
      }
    },
    restock: (itemId, delta) => call('restock', itemId, `/admin/items/${itemId}/stock`, { delta }, delta),
    calls: () => calls,
  };
}

export interface LoadOptions {
  gateways: readonly Gateway[];
  items: readonly ItemPlan[];
  buyers: number;
  /** Buyers sending at the same time. */
  concurrency: number;
  durationMs: number;
  random: Random;
  /** Set to stop early. */
  signal?: AbortSignal;
}

/** Runs buyers until the duration ends; returns every attempt in the order answered. */
export async function runBuyers(options: LoadOptions): Promise<BuyAttempt[]> {
  const { random, gateways, items } = options;
  const attempts: BuyAttempt[] = [];
  const until = Date.now() + options.durationMs;
  const running = () => Date.now() < until && !options.signal?.aborted;

  const send = async (request: BuyNowRequest, attempt: number, gateway = random.pick(gateways)) => {
    const answer = await sendBuyNow(gateway, request, attempt);
    attempts.push(answer);
    return answer;
  };

  const lane = async () => {
    while (running()) {
      const item = random.pick(items);
      const request: BuyNowRequest = {
        itemId: item.itemId,
        buyerId: `buyer-${random.int(1, options.buyers)}`,
        quantity: item.perBuyerLimit > 1 && random.chance(0.3) ? 2 : 1,
        idempotencyKey: `key-${randomUUID()}`,
      };
      let answer = await send(request, 1);
      // A buyer whose answer was lost or refused for now tries again with the same key, often through
      // the other gateway; some retry an accepted purchase too (the retry must get the same purchase).
      for (let attempt = 2; attempt <= 4 && running(); attempt++) {
        const unanswered = answer.status === undefined || answer.status === 503;
        const again = unanswered ? random.chance(0.7) : answer.status === 202 && random.chance(0.1);
        if (!again) break;
        await sleep(unanswered ? random.int(100, 600) : random.int(0, 50));
        answer = await send(request, attempt);
      }
      await sleep(random.int(0, 25));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return attempts;
}
