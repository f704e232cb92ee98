// Errors of the stream processor: a stable code to branch on and whether trying again can help (the
// Kafka runner retries a batch whatever it throws; the code tells the operator why it keeps failing).

export type StreamProcessorErrorCode =
  /** Too many writers updated the same sales series at once; the batch is retried. */
  | 'SALES_STATE_CONTENDED'
  /** The stored sales state of a series cannot be read: a bug or a hand edit; the series needs a reset. */
  | 'SALES_STATE_INVALID'
  /** The replay did not reach the end offsets captured at its start in time. */
  | 'REPLAY_TIMED_OUT'
  /** The processor's consumer group still has members, so its offsets cannot be moved. */
  | 'PROCESSOR_STILL_RUNNING'
  /** Redis lost the read model while a batch was folded; the batch is retried once it is restored. */
  | 'VIEWS_LOST';

const retryable: ReadonlySet<StreamProcessorErrorCode> = new Set([
  'SALES_STATE_CONTENDED',
  'REPLAY_TIMED_OUT',
  'VIEWS_LOST',
]);

export class StreamProcessorError extends Error {
  override readonly name = 'StreamProcessorError';
  readonly code: StreamProcessorErrorCode;
  readonly canRetry: boolean;

  constructor(code: StreamProcessorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.canRetry = retryable.has(code);
  }
}

export function isStreamProcessorError(
  error: unknown,
  code?: StreamProcessorErrorCode,
): error is StreamProcessorError {
  return error instanceof StreamProcessorError && (code === undefined || error.code === code);
}
