// One JSON error shape for every response: {error: {code, message}}. 5xx details stay in the log.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isReadModelError } from '@buy-now/read-model';
import { GatewayError } from '../../domain/errors.js';
import { PurchaseGateError } from '../../domain/purchase-gate-error.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

function fromFastify(error: FastifyError): GatewayError | undefined {
  if (error instanceof PurchaseGateError && error.code === 'GATE_UNAVAILABLE') {
    return new GatewayError(
      'SERVICE_UNAVAILABLE',
      503,
      'purchases cannot be admitted right now; retry in a moment',
      { canRetry: true, cause: error, retryAfterSeconds: 1 },
    );
  }
  if (isReadModelError(error, 'READ_MODEL_UNAVAILABLE')) {
    return new GatewayError('SERVICE_UNAVAILABLE', 503, 'items cannot be read right now; retry in a moment', {
      canRetry: true,
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  if (
    error.validation?.some((v) => v.instancePath === '' && /idempotency-key/.test(v.message ?? '')) ||
    (error.validationContext === 'headers' &&
      error.validation?.some((v) => /idempotency-key/.test(`${v.instancePath} ${v.message ?? ''}`)))
  ) {
    return new GatewayError(
      'IDEMPOTENCY_KEY_REQUIRED',
      400,
      'send an Idempotency-Key header (8-128 characters: letters, digits, _ . : -), the same one when you retry',
    );
  }
  if (error.validation) {
    const detail = error.validation
      .map((v) => `${v.instancePath || error.validationContext || 'request'} ${v.message ?? ''}`.trim())
      .join('; ');
    return new GatewayError('VALIDATION_FAILED', 400, detail || error.message);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('MALFORMED_JSON', 400, 'the body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('PAYLOAD_TOO_LARGE', 413, 'the body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', 415, 'send the body as application/json');
  }
  if (error instanceof SyntaxError)
    return new GatewayError('MALFORMED_JSON', 400, 'the body is not valid JSON');
  return undefined;
}

/**
 * Errors the router raises before any route or hook runs (Fastify's `frameworkErrors`): a path that is
 * not valid percent-encoding, or a path parameter longer than the router matches. Without this they
 * would be answered in Fastify's own shape (and a long id with 414, where a 65-character one gets 400).
 */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path parameter is too long: ids have 1-64 characters (letters, digits, _ . : -)'
      : 'the path is not a valid URL: percent-encode it (ids have 1-64 characters: letters, digits, _ . : -)';
  void reply.code(400).send(errorBody('VALIDATION_FAILED', message));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof GatewayError ? error : fromFastify(error);
    if (known) {
      if (known.statusCode >= 500) request.log.warn({ err: error, code: known.code }, 'request failed');
      if (known.retryAfterSeconds !== undefined) reply.header('retry-after', String(known.retryAfterSeconds));
      return reply.code(known.statusCode).send(errorBody(known.code, known.message));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(errorBody('INTERNAL', 'something went wrong on our side; try again'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`)),
  );
}
