// Delay before retrying a failed batch: exponential, capped, with jitter so that instances that
// failed together (database restart) do not all come back in the same millisecond.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised, 0..1; default 0.2. */
  jitter?: number;
}

export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(exponent, 30));
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  return Math.round(base * (1 - jitter + jitter * random()));
}
