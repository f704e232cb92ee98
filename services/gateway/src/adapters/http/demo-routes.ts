// Routes that exist only in demo mode (DEMO_MODE=true): a token issuer that hands anyone a buyer token,
// and the seed project's API, whose buy-now trusts the userId of its body. Both would let anyone buy as
// anyone, so a production gateway answers 404 to them.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { signBuyerToken } from '@buy-now/buyer-auth';
import { awaitDecision, buyNow, publicStatusOf } from '../../domain/buy-now.js';
import type { RouteDeps } from './routes.js';
import { issueBuyerTokenSchema, seedBuyNowSchema } from './schemas.js';

export interface DemoOptions {
  tokenSecret: string;
  tokenTtlSeconds: number;
}

export function registerDemoRoutes(app: FastifyInstance, deps: RouteDeps, demo: DemoOptions): void {
  app.post<{ Body: { buyerId?: string } | undefined }>(
    '/dev/buyer-tokens',
    { schema: issueBuyerTokenSchema, onRequest: deps.buyerGuard.limitTokenIssue },
    async (request, reply) => {
      const buyerId = request.body?.buyerId ?? `demo-${randomBytes(6).toString('hex')}`;
      const now = deps.clock();
      const token = signBuyerToken({
        secret: demo.tokenSecret,
        buyerId,
        ttlSeconds: demo.tokenTtlSeconds,
        now,
      });
      const expiresAt = new Date((Math.floor(now / 1000) + demo.tokenTtlSeconds) * 1000).toISOString();
      return reply.code(201).send({ buyerId, token, expiresAt });
    },
  );

  // The seed project's API, so its clients keep working: no idempotency key, a synchronous answer.
  app.get('/api/auction/items', async () =>
    (await deps.items.listItems()).map((item) => ({
      id: item.itemId,
      name: item.title,
      totalStock: item.available,
    })),
  );

  app.post<{ Body: { itemId: string; userId: string } }>(
    '/api/auction/buy-now',
    { schema: seedBuyNowSchema, preHandler: deps.buyerGuard.limitSeedBuyNow },
    async (request, reply) => {
      const answer = await buyNow(deps, {
        itemId: request.body.itemId,
        buyerId: request.body.userId,
        quantity: 1,
        idempotencyKey: `seed-${deps.newId()}`,
      });
      reply.type('text/plain; charset=utf-8');
      if (answer.kind === 'rejected') return reply.code(400).send('Sold out');
      const purchase = await awaitDecision(deps, answer.purchase, deps.maxWaitSeconds * 1000);
      const { status } = publicStatusOf(purchase);
      if (status === 'confirmed') return reply.code(200).send('OK');
      if (status === 'rejected') return reply.code(400).send('Sold out');
      return reply.code(202).send('Pending');
    },
  );
}
