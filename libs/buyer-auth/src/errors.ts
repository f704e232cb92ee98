// Why a buyer token was refused: a stable code the gateway answers with (401) and never a retry.

export type BuyerTokenErrorCode =
  /** Not a token we signed: malformed, another algorithm, a bad signature or a wrong claim. */
  | 'BUYER_TOKEN_INVALID'
  /** A token we signed whose `exp` has passed (beyond the allowed clock skew): get a new one. */
  | 'BUYER_TOKEN_EXPIRED';

export class BuyerTokenError extends Error {
  override readonly name = 'BuyerTokenError';
  readonly canRetry = false;

  constructor(
    readonly code: BuyerTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isBuyerTokenError(error: unknown, code?: BuyerTokenErrorCode): error is BuyerTokenError {
  return error instanceof BuyerTokenError && (code === undefined || error.code === code);
}
