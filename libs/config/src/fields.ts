// Field parsers shared by every service's config schema, so the same variable means the same thing everywhere.
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const env = {
  /** Comma-separated host:port list, e.g. "127.0.0.1:9092,127.0.0.1:9094". */
  brokers: (fallback = '127.0.0.1:9092') =>
    z
      .string()
      .default(fallback)
      .transform((s) =>
        s
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port'))
          .min(1, 'at least one broker'),
      ),
  url: (fallback: string, protocols: readonly string[]) =>
    z
      .string()
      .default(fallback)
      .refine(
        (s) => {
          try {
            return protocols.includes(new URL(s).protocol.replace(/:$/, ''));
          } catch {
            return false;
          }
        },
        `must be a URL with protocol ${protocols.join(' or ')}`,
      ),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((s) => s === 'true' || s === '1' || s === 'yes'),
  logLevel: (fallback: (typeof LOG_LEVELS)[number] = 'info') => z.enum(LOG_LEVELS).default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  secret: (minLength = 16) => z.string().min(minLength, `must be at least ${minLength} characters`),
};
