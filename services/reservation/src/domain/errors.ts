// Errors of the reservation domain and its store port: a stable code to branch on, and whether the
// same call can succeed if tried again (the Kafka consumer retries the batch only when it can).

export type ItemDecisionErrorCode =
  /** The commands handed to one decision belong to more than one item: a bug in the caller's grouping. */
  'DECISION_MIXED_ITEMS';

export class ItemDecisionError extends Error {
  override readonly name = 'ItemDecisionError';
  readonly code: ItemDecisionErrorCode;
  readonly canRetry = false;

  constructor(code: ItemDecisionErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type ReservationStoreErrorCode =
  /** Another transaction got there first (duplicate key, deadlock, lost lock race): retry the batch. */
  | 'RESERVATION_STORE_CONFLICT'
  /** The database could not be reached or dropped the connection; the transaction did not commit. */
  | 'RESERVATION_STORE_UNAVAILABLE'
  /**
   * The database refused the decision (a CHECK such as remaining >= 0, a NOT NULL, a too-long value).
   * The decision is deterministic, so retrying it fails the same way: it is a bug to fix, not to retry.
   */
  | 'RESERVATION_STORE_CONSTRAINT_VIOLATED'
  /** The decision does not fit the call (a row for another item, an impossible state change). */
  | 'RESERVATION_STORE_INVALID_DECISION'
  /** Anything else the database said no to (bad SQL, missing table: a migration not applied). */
  | 'RESERVATION_STORE_FAILED';

const retryable: ReadonlySet<ReservationStoreErrorCode> = new Set([
  'RESERVATION_STORE_CONFLICT',
  'RESERVATION_STORE_UNAVAILABLE',
]);

export class ReservationStoreError extends Error {
  override readonly name = 'ReservationStoreError';
  readonly code: ReservationStoreErrorCode;
  readonly canRetry: boolean;
  /** Set when rolling back failed too; the connection was discarded, which ends the transaction. */
  readonly rollbackError: unknown;

  constructor(
    code: ReservationStoreErrorCode,
    message: string,
    options: { cause?: unknown; rollbackError?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = retryable.has(code);
    this.rollbackError = options.rollbackError;
  }
}

export function isReservationStoreError(
  error: unknown,
  code?: ReservationStoreErrorCode,
): error is ReservationStoreError {
  return error instanceof ReservationStoreError && (code === undefined || error.code === code);
}
