// The one error type of this package: a record that breaks the contract never gets better by retrying,
// so callers route it to the dead-letter topic instead of looping on it.

export type ContractErrorCode =
  /** A value does not fit its schema (bad or missing fields), on encode or after decode. */
  | 'CONTRACT_INVALID_RECORD'
  /** The schema name or version in the headers is not one this reader knows. */
  | 'CONTRACT_UNKNOWN_SCHEMA'
  /** The bytes are not a valid Avro encoding of the announced schema (truncated, garbage, trailing). */
  | 'CONTRACT_DECODE_FAILED'
  /** The `schema` or `schema-version` header is absent. */
  | 'CONTRACT_MISSING_HEADER'
  /** The record has no value at all (null or empty), e.g. a tombstone. */
  | 'CONTRACT_MISSING_VALUE'
  /** A known schema arrived where it does not belong (e.g. a StockView on item-events). */
  | 'CONTRACT_UNEXPECTED_SCHEMA'
  /** The record key is not the itemId of its value (every record is keyed by it). */
  | 'CONTRACT_KEY_MISMATCH';

export interface ContractErrorDetails {
  /** Full schema name when known, e.g. `buynow.ItemBought`. */
  readonly schema?: string;
  readonly version?: number;
  /** Paths of the offending fields, e.g. `['quantity', 'currency']`. */
  readonly fields?: readonly string[];
}

export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly code: ContractErrorCode;
  readonly canRetry = false;
  readonly details: ContractErrorDetails;

  constructor(
    code: ContractErrorCode,
    message: string,
    details: ContractErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export function isContractError(error: unknown): error is ContractError {
  return error instanceof ContractError;
}
