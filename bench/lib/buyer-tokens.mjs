// Buyer tokens of the benchmark's gateways: one secret for the bench (its gateways run nowhere else),
// and tokens signed before a timed phase starts, so signing never counts in a figure.
import { signBuyerToken } from '@buy-now/buyer-auth';

export const BENCH_BUYER_TOKEN_SECRET = 'bench-buyer-token-secret-not-for-production-0123';

/**
 * The bench's load comes from one address (127.0.0.1) and one buyer per request: the gateways run with
 * both buy-now limits raised far above any phase (docs/benchmarks.md says so).
 */
export const BENCH_RATE_LIMITS = { RATE_LIMIT_IP_MAX: '1000000000', RATE_LIMIT_BUYER_MAX: '1000000000' };

const tokens = new Map();

/** The token of a buyer; signed now unless presign() already did. */
export function tokenOf(buyerId) {
  let token = tokens.get(buyerId);
  if (token === undefined) {
    token = signBuyerToken({ secret: BENCH_BUYER_TOKEN_SECRET, buyerId, ttlSeconds: 6 * 3_600 });
    tokens.set(buyerId, token);
  }
  return token;
}

/** Signs the tokens of buyers `${tag}b0` … `${tag}b${count - 1}` ahead of a timed phase. */
export function presign(tag, count) {
  for (let i = 0; i < count; i++) tokenOf(`${tag}b${i}`);
}
