// Builds the gateway's Fastify instance from its dependencies; never listens, never reads the environment.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '@buy-now/observability';
import { registerErrorHandling } from './adapters/http/error-handler.js';
import { registerPages } from './adapters/http/pages.js';
import { registerRoutes, type RouteDeps } from './adapters/http/routes.js';
import { registerLiveRoute, type LiveRouteOptions } from './adapters/ws/live-route.js';

export interface GatewayAppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** The built storefront pages; default: those of @buy-now/storefront. */
  storefrontDir?: string;
  live: LiveRouteOptions & {
    /** Largest client message; a bigger one closes the connection with 1009. */
    maxMessageBytes: number;
  };
}

export async function buildGatewayApp(deps: RouteDeps, options: GatewayAppOptions): Promise<FastifyInstance> {
  // Typed as the base logger so the instance keeps Fastify's default generics.
  const baseLogger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance: baseLogger,
    bodyLimit: options.bodyLimitBytes,
    // One log line per request would cost more than the request at flash-sale rates; metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Buy Now gateway',
        version: '0.1.0',
        description: 'Flash-sale purchases, items and live stock.',
      },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, {
    options: { maxPayload: options.live.maxMessageBytes, perMessageDeflate: false },
    // Closing the server closes the live connections (1001) instead of waiting for clients to leave.
    preClose: async function closeLiveViews(this: FastifyInstance) {
      await options.live.hub.close();
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
    errorHandler: (error, socket, request) => {
      request.log.debug({ err: error }, 'WebSocket connection failed');
      socket.terminate();
    },
  });
  registerRoutes(app, deps);
  registerLiveRoute(app, options.live);
  await registerPages(app, options.storefrontDir);
  return app;
}
