// onRequest hooks of the buyer routes, run before the body is read: the buyer token (the buyer is its
// `sub`, never a body field) and the rate limits per client address and per buyer, kept in Redis.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isBuyerTokenError, verifyBuyerToken } from '@buy-now/buyer-auth';
import { GatewayError } from '../../domain/errors.js';
import {
  clientSubject,
  type RateLimitCheck,
  type RateLimiter,
  type RateLimitPolicy,
} from '../../domain/rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The buyer the verified token names; set by the buyer guard on buyer routes only. */
    buyerId: string;
  }
}

export interface BuyerRateLimits {
  /** POST /items/:id/buy-now per client address. */
  buyNowPerIp: RateLimitPolicy;
  /** POST /items/:id/buy-now per buyer (the token's sub). */
  buyNowPerBuyer: RateLimitPolicy;
  /** POST /dev/buyer-tokens (demo mode) per client address. */
  tokenIssuePerIp: RateLimitPolicy;
}

export interface BuyerGuardOptions {
  secret: string;
  limiter: RateLimiter;
  limits: BuyerRateLimits;
  clock: () => number;
}

export interface BuyerGuard {
  /** Verifies `Authorization: Bearer <buyer token>` and sets request.buyerId. */
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Per-address and per-buyer limits of buy-now (after authenticate). */
  limitBuyNow: (request: FastifyRequest) => Promise<void>;
  /** The same limits for the seed's buy-now (demo mode), whose buyer is the body's userId. */
  limitSeedBuyNow: (request: FastifyRequest<{ Body: { userId: string } }>) => Promise<void>;
  /** Per-address limit of POST /dev/buyer-tokens (demo mode). */
  limitTokenIssue: (request: FastifyRequest) => Promise<void>;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

export function createBuyerGuard(options: BuyerGuardOptions): BuyerGuard {
  const take = async (checks: RateLimitCheck[]): Promise<void> => {
    let verdict;
    try {
      verdict = await options.limiter.take(checks);
    } catch (error) {
      // Fail closed: the gate needs the same Redis, so nothing could be bought anyway, and no request
      // gets past a limit that cannot be counted.
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        503,
        'requests cannot be counted right now; retry in a moment',
        { canRetry: true, cause: error, retryAfterSeconds: 1 },
      );
    }
    if (!verdict.allowed) {
      throw new GatewayError('RATE_LIMITED', 429, 'too many requests; wait for the Retry-After seconds', {
        canRetry: true,
        retryAfterSeconds: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
      });
    }
  };

  const buyNowChecks = (ip: string, buyerId: string): RateLimitCheck[] => [
    { subject: `buy:${clientSubject(ip)}`, policy: options.limits.buyNowPerIp },
    { subject: `buy:buyer:${buyerId}`, policy: options.limits.buyNowPerBuyer },
  ];

  return {
    authenticate: (request, reply) => {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined) {
        reply.header('www-authenticate', 'Bearer realm="buy-now"');
        return Promise.reject(
          new GatewayError(
            'BUYER_TOKEN_REQUIRED',
            401,
            'buying needs Authorization: Bearer <buyer token>; the token names the buyer',
          ),
        );
      }
      try {
        request.buyerId = verifyBuyerToken(token, { secret: options.secret, now: options.clock() }).buyerId;
        return Promise.resolve();
      } catch (error) {
        if (!isBuyerTokenError(error))
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        reply.header('www-authenticate', 'Bearer realm="buy-now", error="invalid_token"');
        return Promise.reject(new GatewayError(error.code, 401, error.message));
      }
    },
    limitBuyNow: (request) => take(buyNowChecks(request.ip, request.buyerId)),
    limitSeedBuyNow: (request) => take(buyNowChecks(request.ip, request.body.userId)),
    limitTokenIssue: (request) =>
      take([{ subject: `issue:${clientSubject(request.ip)}`, policy: options.limits.tokenIssuePerIp }]),
  };
}
