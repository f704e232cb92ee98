// Errors the gateway answers with: a stable code, the HTTP status, and whether a retry can help.
export type GatewayErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'IDEMPOTENCY_KEY_REQUIRED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'PURCHASE_IN_PROGRESS'
  | 'OUTCOME_UNKNOWN'
  | 'QUANTITY_ABOVE_LIMIT'
  | 'UNAUTHORIZED'
  | 'BUYER_TOKEN_REQUIRED'
  | 'BUYER_TOKEN_INVALID'
  | 'BUYER_TOKEN_EXPIRED'
  | 'BUYER_MISMATCH'
  | 'RATE_LIMITED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'UPGRADE_REQUIRED'
  | 'ITEM_NOT_FOUND'
  | 'ITEM_EXISTS'
  | 'PURCHASE_NOT_FOUND'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export class GatewayError extends Error {
  readonly canRetry: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: GatewayErrorCode,
    readonly statusCode: number,
    message: string,
    options: { canRetry?: boolean; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.canRetry = options.canRetry ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
