// Errors this package raises: a stable code callers can branch on and whether retrying can help.

/**
 * KAFKA_PRODUCE_FAILED: the batch was sent and not acknowledged; the record may or may not be in
 * the log (a timed-out request can still have been written). KAFKA_PRODUCE_EXPIRED: the record
 * waited too long behind a failing batch and was never sent. KAFKA_BROKER_UNREACHABLE from a send: no
 * connection to send it on, so it was never sent. All are worth retrying later; `notWritten` says
 * which ones certainly left nothing in the log.
 */
export type KafkaErrorCode =
  | 'KAFKA_BROKER_UNREACHABLE'
  | 'KAFKA_PRODUCE_FAILED'
  | 'KAFKA_PRODUCER_STOPPED'
  | 'KAFKA_PRODUCER_OVERLOADED'
  | 'KAFKA_PRODUCE_EXPIRED'
  | 'KAFKA_PRODUCE_SKIPPED'
  | 'KAFKA_RECORD_TOO_LARGE'
  | 'KAFKA_ADMIN_FAILED'
  | 'KAFKA_TOPIC_NOT_FOUND'
  | 'KAFKA_CONSUMER_CRASHED'
  | 'KAFKA_CONSUMER_STOPPED'
  | 'KAFKA_DEAD_LETTER_FAILED';

/** What to do when the broker cannot be reached, in every error that says so. */
export const START_BROKER_HINT =
  'start it with `npm run infra:up`, broker log at infra/.run/kafka/server.log';

export interface KafkaErrorOptions {
  canRetry: boolean;
  cause?: unknown;
  /** A send that failed without reaching the broker: its records are certainly not in the log. */
  notWritten?: boolean;
}

export class KafkaError extends Error {
  override readonly name = 'KafkaError';
  readonly code: KafkaErrorCode;
  /** True when the same call may succeed later (broker back, leader elected); false when it never will. */
  readonly canRetry: boolean;
  /**
   * True only when the records of a failed send are certainly not in the log (never sent: refused,
   * expired in the queue, no connection to send them on). False means they may be, e.g. a request that
   * timed out after the broker appended it: the caller must not tell anyone that nothing happened.
   */
  readonly notWritten: boolean;

  constructor(code: KafkaErrorCode, message: string, options: KafkaErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = options.canRetry;
    this.notWritten = options.notWritten ?? false;
  }
}

/** Whether a failed send certainly left nothing in the log; anything but a KafkaError saying so is "maybe". */
export function provedNotWritten(error: unknown): boolean {
  return error instanceof KafkaError && error.notWritten;
}

export function isKafkaError(error: unknown, code?: KafkaErrorCode): error is KafkaError {
  return error instanceof KafkaError && (code === undefined || error.code === code);
}

/** The innermost cause: kafkajs wraps the real failure in "number of retries exceeded". */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const cause = (current as { cause?: unknown } | null | undefined)?.cause;
    if (cause === undefined || cause === null || cause === current) break;
    current = cause;
  }
  return current;
}

/**
 * Whether trying again later can succeed. kafkajs flags each failure `retriable`, but the retry
 * wrapper it throws after giving up is flagged non-retriable even when the cause was only a broker
 * that was down, so the decision is made on the innermost cause.
 */
export function canRetryAfter(error: unknown): boolean {
  if (error instanceof KafkaError) return error.canRetry;
  const cause = rootCause(error);
  if (typeof cause !== 'object' || cause === null) return true;
  const retriable = (cause as { retriable?: unknown }).retriable;
  return typeof retriable === 'boolean' ? retriable : true;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
