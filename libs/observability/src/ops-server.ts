// A small HTTP listener for the services that have no HTTP API of their own (reservation, stream
// processor): GET /metrics (Prometheus), /healthz (the process runs) and /readyz (its dependencies).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface OpsServerOptions {
  metrics: Metrics;
  /** Each dependency's state; the service is ready when every check is ok. */
  readiness: () => Promise<ReadinessCheck[]>;
  logger: Logger;
  /** Default 127.0.0.1: operations endpoints are for the local scraper, not the public. */
  host?: string;
  /** 0 picks a free port (logged). */
  port: number;
}

export interface OpsServer {
  /** host:port it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

/** Runs a readiness probe, turning a throw into a failed check with its message. */
export async function probe(name: string, run: () => Promise<unknown>): Promise<ReadinessCheck> {
  try {
    await run();
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(text);
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const log = options.logger.child({ component: 'ops-server' });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJson(response, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served here' } });
      return;
    }
    switch (path) {
      case '/metrics': {
        const text = await options.metrics.render();
        response.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' });
        response.end(text);
        return;
      }
      case '/healthz':
        sendJson(response, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const checks = await options.readiness();
        const ready = checks.every((check) => check.ok);
        sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', checks });
        return;
      }
      default:
        sendJson(response, 404, {
          error: { code: 'NOT_FOUND', message: `no route ${path ?? ''}: try /metrics, /healthz or /readyz` },
        });
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.warn({ err: error }, 'operations request failed');
      if (!response.headersSent) {
        sendJson(response, 500, { error: { code: 'INTERNAL', message: 'the probe failed; see the log' } });
      } else response.destroy();
    });
  });
  // A scraper keeps its connection open; it must not hold the process on stop.
  server.keepAliveTimeout = 5_000;

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const address = `${host}:${port}`;
  log.info({ address }, 'operations endpoints listening (/metrics, /healthz, /readyz)');

  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
