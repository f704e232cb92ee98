// Counts every HTTP answer by route and status, and times it: the request side of the gateway's metrics.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '@buy-now/observability';

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  const answers = metrics.counter('http_requests_total', 'HTTP answers by route and status', [
    'method',
    'route',
    'status',
  ]);
  const seconds = metrics.histogram(
    'http_request_duration_seconds',
    'From request to answer',
    ['method', 'route'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
  );
  app.addHook('onResponse', (request, reply, done) => {
    // The route's pattern, never the raw URL: ids in paths would make a series per purchase.
    const route = request.routeOptions.url ?? 'unmatched';
    answers.inc({ method: request.method, route, status: String(reply.statusCode) });
    seconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
}
