// A TCP proxy in front of a private Kafka broker (which advertises the proxy's port, so every client's
// connection goes through it) that fails the way real networks do: it can swallow the broker's answers
// to produce requests after forwarding them, so a producer times out although the broker appended its
// records. It reads only Kafka's framing (a 4-byte size, then the request's api key and correlation id,
// or the response's correlation id); bytes pass unchanged.
import { createServer, connect, type Server, type Socket } from 'node:net';

const PRODUCE_API_KEY = 0;

export interface KafkaFaultProxy {
  /** The port clients (and the broker's advertised listener) use. */
  readonly port: number;
  /**
   * While on, the broker's answers to produce requests are dropped: the requests reach the broker and are
   * appended, the producers never hear so. Other requests (fetch, metadata, commits) are answered.
   */
  dropProduceResponses(on: boolean): void;
  /** Produce requests forwarded so far, and answers dropped. */
  stats(): { produceRequests: number; droppedResponses: number };
  close(): Promise<void>;
}

/** Splits a byte stream into Kafka frames (4-byte big-endian size, then that many bytes). */
function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      onFrame(pending.subarray(0, 4 + size));
      pending = pending.subarray(4 + size);
    }
  };
}

export async function startKafkaFaultProxy(options: {
  listenPort: number;
  target: { host: string; port: number };
}): Promise<KafkaFaultProxy> {
  let dropping = false;
  let produceRequests = 0;
  let droppedResponses = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(options.target.port, options.target.host);
    sockets.add(client).add(upstream);
    // Correlation ids of this connection's produce requests, to recognise their answers.
    const produceIds = new Set<number>();
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    client.on(
      'data',
      frameReader((frame) => {
        // Request header: size, api_key int16, api_version int16, correlation_id int32.
        if (frame.length >= 12 && frame.readInt16BE(4) === PRODUCE_API_KEY) {
          produceIds.add(frame.readInt32BE(8));
          produceRequests += 1;
        }
        upstream.write(frame);
      }),
    );
    upstream.on(
      'data',
      frameReader((frame) => {
        const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1;
        if (produceIds.delete(correlationId) && dropping) {
          droppedResponses += 1;
          return;
        }
        client.write(frame);
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort, '127.0.0.1', () => resolve());
  });

  return {
    port: options.listenPort,
    dropProduceResponses(on) {
      dropping = on;
    },
    stats: () => ({ produceRequests, droppedResponses }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
