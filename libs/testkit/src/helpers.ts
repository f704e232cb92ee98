import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

/** A name no other test run uses: for topics, consumer groups, databases and Redis key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails with the last state
 * `describe` gives, so a timeout says what was being waited for and how far it got.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
  const state = options.describe ? ` (last state: ${JSON.stringify(options.describe())})` : '';
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}${state}${cause}`);
}

/** A log destination that keeps each JSON line a logger writes, parsed, for a test to assert on. */
export function collectLogLines<Line = Record<string, unknown>>(): { destination: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { destination, lines };
}
