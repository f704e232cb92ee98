// Rate limits: what is counted (a client address, a buyer) and how many requests a window allows.
import { isIP } from 'node:net';

/** `max` requests per `windowMs`, refilled evenly (a burst of `max` at most). */
export interface RateLimitPolicy {
  max: number;
  windowMs: number;
}

export interface RateLimitCheck {
  /** What is counted, e.g. `ip:203.0.113.7` or `buyer:buyer-42`. */
  subject: string;
  policy: RateLimitPolicy;
}

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Takes one request from every subject's allowance; refused if any of them has none left. */
export interface RateLimiter {
  take(checks: readonly RateLimitCheck[]): Promise<RateLimitVerdict>;
}

/**
 * The subject one client address counts against: an IPv4 address as is (also when IPv4-mapped), an
 * IPv6 address by its /64, since one host usually holds a whole /64 and would otherwise have 2^64 limits.
 */
export function clientSubject(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return `ip:${mapped[1]}`;
  if (isIP(address) !== 6) return `ip:${address}`;
  return `ip6:${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::') as [string, string?];
  const part = (text: string) => (text === '' ? [] : text.split(':'));
  const toGroups = (items: string[]) =>
    items.flatMap((item) => {
      if (!item.includes('.')) return [item];
      const [a = 0, b = 0, c = 0, d = 0] = item.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const left = toGroups(part(head));
  const right = tail === undefined ? [] : toGroups(part(tail));
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}
