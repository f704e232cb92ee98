// Errors of the read model: a stable code to branch on and whether the same call can succeed later.

export type ReadModelErrorCode =
  /** A stored hash is not a StockView (a field missing or unreadable): rebuild the views. */
  | 'READ_MODEL_INVALID_VIEW'
  /** The view handed to apply() breaks the StockView contract; writing it would poison every reader. */
  | 'READ_MODEL_REFUSED_VIEW'
  /** Redis did not answer or refused the command; nothing was written or nothing was read. */
  | 'READ_MODEL_UNAVAILABLE';

export class ReadModelError extends Error {
  override readonly name = 'ReadModelError';
  readonly code: ReadModelErrorCode;
  readonly canRetry: boolean;

  constructor(code: ReadModelErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = code === 'READ_MODEL_UNAVAILABLE';
  }
}

export function isReadModelError(error: unknown, code?: ReadModelErrorCode): error is ReadModelError {
  return error instanceof ReadModelError && (code === undefined || error.code === code);
}
