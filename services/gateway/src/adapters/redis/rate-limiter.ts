// Rate limits kept in Redis, so they hold across every gateway instance. Each subject is one key with
// its own hash tag (one Redis Cluster slot) updated by one Lua script (GCRA: the key holds the
// theoretical arrival time, set with its expiry in the same SET); the checks of one request go out
// together, one round trip.
import type { Redis, Result } from 'ioredis';
import type { RateLimitCheck, RateLimiter, RateLimitVerdict } from '../../domain/rate-limit.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    rateLimitTake(key: string, max: number, windowMs: number): Result<number, Context>;
  }
}

// KEYS[1] the subject's key; ARGV: max requests, window (ms). Redis' own clock, so every instance agrees.
// Returns 0 when allowed, otherwise the microseconds until one more request would be allowed.
const TAKE = `
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local interval = window / max
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + interval
if nextTat - now > window then
  return math.ceil(nextTat - now - window)
end
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.max(1, math.ceil((nextTat - now) / 1000)))
return 0
`;

export interface RateLimiterOptions {
  redis: Redis;
  keyPrefix: string;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis } = options;
  redis.defineCommand('rateLimitTake', { numberOfKeys: 1, lua: TAKE });
  const keyOf = (subject: string) => `${options.keyPrefix}{rl:${subject}}`;

  return {
    async take(checks: readonly RateLimitCheck[]): Promise<RateLimitVerdict> {
      if (checks.length === 0) return { allowed: true };
      // Sent in the same tick, the calls share one write and one round trip; a pipeline would first ask
      // Redis whether the script is loaded (SCRIPT EXISTS), on every request.
      const replies = await Promise.all(
        checks.map((check) =>
          redis.rateLimitTake(keyOf(check.subject), check.policy.max, check.policy.windowMs),
        ),
      );
      const waitMicros = Math.max(0, ...replies.map(Number));
      return waitMicros === 0
        ? { allowed: true }
        : { allowed: false, retryAfterMs: Math.ceil(waitMicros / 1000) };
    },
  };
}
