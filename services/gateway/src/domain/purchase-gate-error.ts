// Failures of the admission gate, with a stable code the HTTP layer maps to an answer.

/**
 * GATE_UNAVAILABLE: Redis did not answer or refused for a passing reason (connection, LOADING, OOM,
 * failover); nothing is known to have changed, or a taken unit is left for the reconciler — retry later
 * (HTTP 503). The others are defects or bad input that a retry with the same input cannot fix.
 */
export type PurchaseGateErrorCode =
  | 'GATE_UNAVAILABLE'
  | 'GATE_INVALID_REQUEST'
  | 'GATE_INVALID_OPTIONS'
  /** The caller reused a purchaseId the gate already holds; purchaseIds must be new. */
  | 'GATE_PURCHASE_ID_TAKEN'
  /** An idempotency key points to a purchase record that is gone (eviction: Redis must run noeviction). */
  | 'GATE_RECORD_MISSING'
  /** A gate script failed or answered in a shape this code does not know (e.g. mixed versions). */
  | 'GATE_SCRIPT_FAILED';

export class PurchaseGateError extends Error {
  override readonly name = 'PurchaseGateError';
  readonly code: PurchaseGateErrorCode;
  /** True when the same call may succeed later. */
  readonly canRetry: boolean;

  constructor(code: PurchaseGateErrorCode, message: string, options: { canRetry: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = options.canRetry;
  }
}

export function isPurchaseGateError(
  error: unknown,
  code?: PurchaseGateErrorCode,
): error is PurchaseGateError {
  return error instanceof PurchaseGateError && (code === undefined || error.code === code);
}
