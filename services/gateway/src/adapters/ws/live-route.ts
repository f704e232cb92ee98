// GET /ws: the live-views WebSocket. Checked before the upgrade, so a refused client gets a plain HTTP
// answer in the one error shape: 403 for an origin not allowed (a page of another site must not ride
// on a buyer's browser), 503 when this instance has as many connections as it takes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../domain/errors.js';
import { errorBody } from '../http/error-handler.js';
import type { LiveHub } from './live-hub.js';

export interface LiveRouteOptions {
  hub: LiveHub;
  /** Unset: requests without an Origin header and pages of the gateway's own host. */
  allowedOrigins?: readonly string[];
}

export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[] | undefined,
): boolean {
  // Browsers always send Origin on a WebSocket upgrade; other clients are not exposed to cross-site use.
  if (origin === undefined) return true;
  if (allowedOrigins !== undefined) return allowedOrigins.includes(origin);
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

export function registerLiveRoute(app: FastifyInstance, options: LiveRouteOptions): void {
  const checkUpgrade = (request: FastifyRequest): Promise<void> => {
    if (!originAllowed(request.headers.origin, request.headers.host, options.allowedOrigins)) {
      return Promise.reject(
        new GatewayError(
          'ORIGIN_NOT_ALLOWED',
          403,
          `origin ${request.headers.origin ?? ''} may not open live views`,
        ),
      );
    }
    if (!options.hub.canAccept()) {
      return Promise.reject(
        new GatewayError(
          'SERVICE_UNAVAILABLE',
          503,
          'this instance has as many live connections as it takes',
          { canRetry: true, retryAfterSeconds: 1 },
        ),
      );
    }
    return Promise.resolve();
  };

  app.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true },
    onRequest: checkUpgrade,
    handler: (_request, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send(errorBody('UPGRADE_REQUIRED', 'GET /ws is a WebSocket: send Upgrade: websocket')),
    wsHandler: (socket) => options.hub.accept(socket),
  });
}
