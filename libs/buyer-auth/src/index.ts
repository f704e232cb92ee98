export {
  BUYER_ID_PATTERN,
  BUYER_TOKEN_AUDIENCE,
  BUYER_TOKEN_ISSUER,
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_TTL_SECONDS,
  MIN_SECRET_LENGTH,
  signBuyerToken,
  verifyBuyerToken,
  type SignBuyerTokenOptions,
  type VerifiedBuyerToken,
  type VerifyBuyerTokenOptions,
} from './buyer-token.js';
export { BuyerTokenError, isBuyerTokenError, type BuyerTokenErrorCode } from './errors.js';
