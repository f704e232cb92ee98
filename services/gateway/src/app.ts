// Builds the gateway's Fastify instance from its dependencies; never listens, never reads the environment.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '@buy-now/observability';
import { answerFrameworkError, registerErrorHandling } from './adapters/http/error-handler.js';
import { registerPages } from './adapters/http/pages.js';
import { registerRequestMetrics } from './adapters/http/request-metrics.js';
import { registerRoutes, type RouteDeps } from './adapters/http/routes.js';
import { CONTENT_SECURITY_POLICY, registerSecurityHeaders } from './adapters/http/security-headers.js';
import { registerLiveRoute, type LiveRouteOptions } from './adapters/ws/live-route.js';

export interface GatewayAppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** Fastify's trustProxy: whether (and from whom) X-Forwarded-For names the client. */
  trustProxy: boolean | number | readonly string[];
  /** The built storefront pages; default: those of @buy-now/storefront. */
  storefrontDir?: string;
  live: LiveRouteOptions & {
    /** Largest client message; a bigger one closes the connection with 1009. */
    maxMessageBytes: number;
  };
}

function trustProxyOption(trust: GatewayAppOptions['trustProxy']) {
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust; // the last N hops
  return typeof trust === 'boolean' ? trust : [...trust];
}

export async function buildGatewayApp(deps: RouteDeps, options: GatewayAppOptions): Promise<FastifyInstance> {
  // Typed as the base logger so the instance keeps Fastify's default generics.
  const baseLogger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance: baseLogger,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: trustProxyOption(options.trustProxy),
    // One log line per request would cost more than the request at flash-sale rates; metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
    // Bad percent-encoding and overlong path parameters get the one error shape too.
    frameworkErrors: answerFrameworkError,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  registerErrorHandling(app);
  registerRequestMetrics(app, deps.metrics);
  registerSecurityHeaders(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Buy Now gateway',
        version: '0.1.0',
        description: 'Flash-sale purchases, items and live stock.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer' },
          buyerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
  });
  // The UI's own page is static (no inline script), so it runs under the gateway's policy.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: CONTENT_SECURITY_POLICY });
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
