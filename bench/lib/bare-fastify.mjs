// The baseline of the gateway scenario: a bare Fastify app (the gateway's own Fastify version), in a
// process of its own like the gateway, answering the same request shape with no work behind it.
//   PORT=3999 node bench/lib/bare-fastify.mjs
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const requireFromGateway = createRequire(new URL('../../services/gateway/package.json', import.meta.url));
const { default: Fastify } = await import(pathToFileURL(requireFromGateway.resolve('fastify')).href);

const app = Fastify({ logger: false });
app.post('/items/:id/buy-now', (_request, reply) => reply.code(202).send({ status: 'pending' }));
app.get('/healthz', () => ({ status: 'ok' }));

const port = Number(process.env.PORT ?? 3999);
await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`bare fastify listening on 127.0.0.1:${port}\n`);
const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
