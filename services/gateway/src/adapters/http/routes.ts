// The gateway's HTTP routes: buy-now, purchases, items, admin, the seed's API and operations.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '@buy-now/observability';
import {
  awaitDecision,
  buyNow,
  publicStatusOf,
  type BuyNowAnswer,
  type BuyNowDeps,
} from '../../domain/buy-now.js';
import { GatewayError } from '../../domain/errors.js';
import { itemJson, listingView } from '../../domain/item-view.js';
import type { PurchaseRecord } from '../../domain/purchase-gate.js';
import {
  CommandNotPublishedError,
  type CommandPublisher,
  type HealthProbe,
  type ItemCatalogue,
  type PurchaseArchive,
} from '../../domain/ports.js';
import type { AdminRequests } from '../redis/admin-requests.js';
import type { BuyerGuard } from './buyer-guard.js';
import { registerDemoRoutes, type DemoOptions } from './demo-routes.js';
import {
  adjustStockSchema,
  buyNowSchema,
  getItemSchema,
  getPurchaseSchema,
  listItemSchema,
  listItemsSchema,
} from './schemas.js';

export interface RouteDeps extends BuyNowDeps {
  /** The read model (the stream processor's views). */
  items: ItemCatalogue;
  archive: PurchaseArchive;
  commands: CommandPublisher;
  health: HealthProbe;
  metrics: Metrics;
  adminToken: string;
  maxWaitSeconds: number;
  /** How long POST /admin/items waits for the gate to sell a new item before answering 202. */
  listingWaitMs: number;
  /** Buyer tokens and rate limits of the buyer routes. */
  buyerGuard: BuyerGuard;
  /** Set only in demo mode: the token issuer and the seed's API exist only then. */
  demo?: DemoOptions;
  /** Admin writes sent with an Idempotency-Key. */
  adminRequests: AdminRequests;
}

interface BuyNowBody {
  /** Optional; when sent it must be the token's buyer. */
  buyerId?: string;
  quantity: number;
}

interface ListItemBody {
  itemId?: string;
  title: string;
  priceMinor: number;
  currency: string;
  stock: number;
  perBuyerLimit: number;
  startsAt?: string;
}

/** RFC 7240 `Prefer: wait=N`, capped. */
export function preferredWaitMs(prefer: string | undefined, maxSeconds: number): number {
  const match = prefer ? /(?:^|[\s,;])wait=(\d{1,6})(?:$|[\s,;])/.exec(prefer) : null;
  return match?.[1] ? Math.min(Number(match[1]), maxSeconds) * 1000 : 0;
}

function purchaseBody(purchase: PurchaseRecord) {
  return {
    purchaseId: purchase.purchaseId,
    itemId: purchase.itemId,
    buyerId: purchase.buyerId,
    quantity: purchase.quantity,
    ...publicStatusOf(purchase),
    statusUrl: `/purchases/${purchase.purchaseId}`,
  };
}

const REJECTION_MESSAGES: Readonly<Record<string, string>> = {
  SOLD_OUT: 'sold out: no units left for this request',
  LIMIT_EXCEEDED: 'this buyer has reached the limit per buyer for this item',
  NOT_STARTED: 'the sale has not started yet',
  DUPLICATE_REQUEST: 'this Idempotency-Key already made a purchase of this item: nothing more was bought',
};

function rejectionMessage(reason: string, originalPurchaseId: string | undefined): string {
  // The one rejection whose buyer may well own the item: say which purchase, and where its outcome is.
  if (reason === 'DUPLICATE_REQUEST' && originalPurchaseId !== undefined) {
    return (
      `this Idempotency-Key already made purchase ${originalPurchaseId} of this item; nothing more was ` +
      `bought. Its outcome: GET /purchases/${originalPurchaseId}`
    );
  }
  return REJECTION_MESSAGES[reason] ?? 'the purchase was rejected';
}

function rejectionBody(answer: Extract<BuyNowAnswer, { kind: 'rejected' }>) {
  return {
    status: 'rejected' as const,
    reason: answer.reason,
    ...(answer.purchaseId ? { purchaseId: answer.purchaseId } : {}),
    ...(answer.originalPurchaseId ? { originalPurchaseId: answer.originalPurchaseId } : {}),
    ...(answer.available !== undefined ? { available: answer.available } : {}),
    ...(answer.itemVersion !== undefined ? { itemVersion: answer.itemVersion } : {}),
    error: { code: answer.reason, message: rejectionMessage(answer.reason, answer.originalPurchaseId) },
  };
}

function tokenMatches(given: string, expected: string): boolean {
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const admissions = deps.metrics.counter('admissions_total', 'Buy-now answers by outcome', ['outcome']);

  // Runs as an onRequest hook: a request without the token is refused before its body is even read.
  const requireAdmin = (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!token || !tokenMatches(token, deps.adminToken)) {
      return Promise.reject(
        new GatewayError('UNAUTHORIZED', 401, 'admin endpoints need Authorization: Bearer <admin token>'),
      );
    }
    return Promise.resolve();
  };

  // The gate knows an item as soon as its listing is decided; the read model may be a moment behind.
  const isListed = async (itemId: string): Promise<boolean> =>
    (await deps.gate.getAvailability(itemId)) !== null || (await deps.items.getItem(itemId)) !== null;

  // Without `Prefer: wait` the answer is always 202 (accepted; the body shows the status now), so
  // retries with one Idempotency-Key get the same answer. With it: 201 confirmed, 409 rejected, or
  // 202 if the decision took longer than the wait.
  const sendPurchase = (reply: FastifyReply, purchase: PurchaseRecord, waited: boolean) => {
    const body = purchaseBody(purchase);
    reply.header('location', body.statusUrl);
    if (!waited) return reply.code(202).send(body);
    if (body.status === 'rejected') {
      return reply.code(409).send(
        rejectionBody({
          kind: 'rejected',
          reason: body.reason ?? 'REJECTED',
          purchaseId: purchase.purchaseId,
          ...(body.originalPurchaseId === undefined ? {} : { originalPurchaseId: body.originalPurchaseId }),
        }),
      );
    }
    return reply.code(body.status === 'confirmed' ? 201 : 202).send(body);
  };

  app.post<{
    Params: { id: string };
    Body: BuyNowBody;
    Headers: { 'idempotency-key': string; prefer?: string };
  }>(
    '/items/:id/buy-now',
    // The token and the limits are checked before the body is read: a refused request costs no parsing.
    { schema: buyNowSchema, onRequest: [deps.buyerGuard.authenticate, deps.buyerGuard.limitBuyNow] },
    async (request, reply) => {
      const buyerId = request.buyerId;
      if (request.body.buyerId !== undefined && request.body.buyerId !== buyerId) {
        throw new GatewayError(
          'BUYER_MISMATCH',
          403,
          'buyerId in the body must be the buyer the token names (or be left out)',
        );
      }
      const answer = await buyNow(deps, {
        itemId: request.params.id,
        buyerId,
        quantity: request.body.quantity,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if (answer.kind === 'rejected') {
        admissions.inc({ outcome: `rejected_${answer.reason.toLowerCase()}` });
        return reply.code(409).send(rejectionBody(answer));
      }
      admissions.inc({ outcome: answer.replayed ? 'replayed' : 'accepted' });
      request.log.debug(
        { purchaseId: answer.purchase.purchaseId, itemId: request.params.id },
        'purchase accepted',
      );
      const waitMs = preferredWaitMs(request.headers.prefer, deps.maxWaitSeconds);
      if (waitMs > 0) reply.header('preference-applied', `wait=${waitMs / 1000}`);
      const purchase = await awaitDecision(deps, answer.purchase, waitMs);
      return sendPurchase(reply, purchase, waitMs > 0);
    },
  );

  app.get<{ Params: { id: string } }>('/purchases/:id', { schema: getPurchaseSchema }, async (request) => {
    const purchase =
      (await deps.gate.getPurchase(request.params.id)) ??
      (await deps.archive.findPurchase(request.params.id));
    if (!purchase) throw new GatewayError('PURCHASE_NOT_FOUND', 404, `no purchase ${request.params.id}`);
    return purchaseBody(purchase);
  });

  app.get('/items', { schema: listItemsSchema }, async () => ({
    items: (await deps.items.listItems()).map(itemJson),
  }));

  app.get<{ Params: { id: string } }>('/items/:id', { schema: getItemSchema }, async (request) => {
    const item = await deps.items.getItem(request.params.id);
    if (!item) throw new GatewayError('ITEM_NOT_FOUND', 404, `no item ${request.params.id}`);
    return itemJson(item);
  });

  /**
   * With an Idempotency-Key, the first request's commandId and itemId: a retry publishes the same command
   * again (applied once). Without one, fresh ids.
   */
  const adminCommand = async (
    scope: string,
    key: string | undefined,
    body: unknown,
    itemId: string,
  ): Promise<{ commandId: string; itemId: string; retry: boolean }> => {
    const commandId = deps.newId();
    if (key === undefined) return { commandId, itemId, retry: false };
    const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const first = await deps.adminRequests.claim(scope, key, { requestHash, commandId, itemId });
    if (first.requestHash !== requestHash) {
      throw new GatewayError(
        'IDEMPOTENCY_KEY_REUSED',
        422,
        'this Idempotency-Key was already used with a different request; use a new key for a new change',
      );
    }
    return { commandId: first.commandId, itemId: first.itemId, retry: first.commandId !== commandId };
  };

  app.post<{ Body: ListItemBody; Headers: { 'idempotency-key'?: string } }>(
    '/admin/items',
    { schema: listItemSchema, onRequest: requireAdmin },
    async (request, reply) => {
      const body = request.body;
      const { commandId, itemId, retry } = await adminCommand(
        'list',
        request.headers['idempotency-key'],
        body,
        body.itemId ?? deps.newId(),
      );
      // A retry of a listing that went through finds its own item: not a conflict.
      if (!retry && (await isListed(itemId)))
        throw new GatewayError('ITEM_EXISTS', 409, `item ${itemId} is already listed`);
      const startsAt = body.startsAt === undefined ? null : Date.parse(body.startsAt);
      await publishOrUnavailable(deps.commands, {
        name: 'ListItem',
        value: {
          commandId,
          itemId,
          title: body.title,
          priceMinor: body.priceMinor,
          currency: body.currency,
          stock: body.stock,
          perBuyerLimit: body.perBuyerLimit,
          startsAt,
          requestedAt: deps.clock(),
        },
      });
      // The reservation service decides the listing; the answer waits until the gate sells the item
      // (what a buyer needs), not for the stream processor's view, so listing never waits on the views.
      const deadline = Date.now() + deps.listingWaitMs;
      while (Date.now() < deadline) {
        if ((await deps.gate.getAvailability(itemId)) !== null) {
          const item =
            (await deps.items.getItem(itemId)) ??
            listingView(
              {
                itemId,
                title: body.title,
                priceMinor: body.priceMinor,
                currency: body.currency,
                perBuyerLimit: body.perBuyerLimit,
                startsAt,
                stock: body.stock,
              },
              deps.clock(),
            );
          return reply.code(201).header('location', `/items/${itemId}`).send(itemJson(item));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return reply
        .code(202)
        .header('location', `/items/${itemId}`)
        .send({ itemId, commandId, status: 'pending' });
    },
  );

  app.post<{ Params: { id: string }; Body: { delta: number }; Headers: { 'idempotency-key'?: string } }>(
    '/admin/items/:id/stock',
    { schema: adjustStockSchema, onRequest: requireAdmin },
    async (request, reply) => {
      const itemId = request.params.id;
      if (!(await isListed(itemId))) throw new GatewayError('ITEM_NOT_FOUND', 404, `no item ${itemId}`);
      const key = request.headers['idempotency-key'];
      const { commandId } = await adminCommand(`stock:${itemId}`, key, request.body, itemId);
      await publishOrUnavailable(deps.commands, {
        name: 'AdjustStock',
        value: { commandId, itemId, delta: request.body.delta, requestedAt: deps.clock() },
      });
      return reply.code(202).send({ itemId, commandId, delta: request.body.delta, status: 'pending' });
    },
  );

  if (deps.demo) registerDemoRoutes(app, deps, deps.demo);

  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks = await deps.health.check();
    const ready = checks.every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(deps.metrics.contentType).send(await deps.metrics.render()),
  );
}

async function publishOrUnavailable(
  commands: CommandPublisher,
  command: Parameters<CommandPublisher['publish']>[0],
) {
  try {
    await commands.publish(command);
  } catch (error) {
    if (error instanceof CommandNotPublishedError) {
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        503,
        'the command could not be recorded; nothing changed, retry in a moment',
        { canRetry: true, cause: error, retryAfterSeconds: 1 },
      );
    }
    // It may be in the log: saying "nothing changed" could be false, and a blind retry would apply it twice.
    throw new GatewayError(
      'OUTCOME_UNKNOWN',
      503,
      'it is not known whether the change was recorded; retry with the same Idempotency-Key to apply it once',
      { canRetry: true, cause: error, retryAfterSeconds: 1 },
    );
  }
}
