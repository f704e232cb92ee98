// The storefront (/) and the live dashboard (/dashboard): static pages built by @buy-now/storefront.
// When they were not built, both answer 503 saying how to build them; the API is unaffected.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { storefrontDistDir } from '@buy-now/storefront';
import { errorBody } from './error-handler.js';

export async function registerPages(app: FastifyInstance, distDir = storefrontDistDir): Promise<void> {
  const pages = { '/': 'index.html', '/dashboard': 'dashboard.html' } as const;
  const built = existsSync(join(distDir, 'index.html')) && existsSync(join(distDir, 'dashboard.html'));
  if (!built) {
    for (const url of Object.keys(pages)) {
      app.get(url, { schema: { hide: true } }, (_request, reply) =>
        reply
          .code(503)
          .send(
            errorBody(
              'STOREFRONT_NOT_BUILT',
              `the storefront is not built in ${distDir}: run npm run build -w @buy-now/storefront`,
            ),
          ),
      );
    }
    return;
  }
  await app.register(fastifyStatic, {
    root: join(distDir, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    immutable: true,
    maxAge: '365d',
  });
  for (const [url, file] of Object.entries(pages)) {
    // A few kB each, read once: a rebuilt storefront is served after a restart.
    const html = readFileSync(join(distDir, file), 'utf8');
    app.get(url, { schema: { hide: true } }, (_request, reply) =>
      // The gateway's security headers (a CSP of 'self' only) cover the pages as any other answer.
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html),
    );
  }
}
