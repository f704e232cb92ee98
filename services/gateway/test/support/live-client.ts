// A WebSocket client of GET /ws for the integration suites: keeps every message it received (parsed,
// with the time it arrived), and how the connection ended.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { waitFor } from '@buy-now/testkit';
import type { AnswerBody } from './system.js';

export interface StockMessage {
  type: 'stock';
  view: Required<Pick<AnswerBody, 'itemId' | 'available' | 'sold' | 'status' | 'version'>> & AnswerBody;
}

export interface PurchaseMessage {
  type: 'purchase';
  purchase: { purchaseId: string; itemId: string; status: string; reason?: string };
}

export interface ErrorMessage {
  type: 'error';
  error: { code: string; message: string };
}

export type LiveMessage = StockMessage | PurchaseMessage | ErrorMessage;

export interface Received<M extends LiveMessage = LiveMessage> {
  message: M;
  at: number;
}

export interface LiveClient {
  readonly socket: WebSocket;
  readonly received: Received[];
  /** Stock views received for this item, in order. */
  stock(itemId: string): StockMessage['view'][];
  stockReceived(itemId?: string): Received<StockMessage>[];
  purchases(): PurchaseMessage['purchase'][];
  errors(): ErrorMessage['error'][];
  send(message: unknown): void;
  sendRaw(text: string): void;
  /** Resolves when the connection closed, with the close code. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** Stops reading from the TCP socket (the server's unsent data piles up), or starts again. */
  pauseReading(): void;
  resumeReading(): void;
  until<T>(what: string, probe: () => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export function liveUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/ws`;
}

/** Opens a connection; rejects with the HTTP status when the upgrade is refused. */
export function openLiveClient(url: string, options: { origin?: string } = {}): Promise<LiveClient> {
  const socket = new WebSocket(url, { ...(options.origin ? { origin: options.origin } : {}) });
  const received: Received[] = [];
  let closedWith: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => {
      closedWith = { code, reason: reason.toString('utf8') };
      resolve(closedWith);
    });
  });
  socket.on('message', (data) => {
    received.push({ message: JSON.parse((data as Buffer).toString('utf8')) as LiveMessage, at: Date.now() });
  });
  const tcp = () => (socket as unknown as { _socket: Socket })._socket;
  const client: LiveClient = {
    socket,
    received,
    stock: (itemId) => client.stockReceived(itemId).map((r) => r.message.view),
    stockReceived: (itemId) =>
      received.filter(
        (r): r is Received<StockMessage> =>
          r.message.type === 'stock' && (itemId === undefined || r.message.view.itemId === itemId),
      ),
    purchases: () => received.flatMap((r) => (r.message.type === 'purchase' ? [r.message.purchase] : [])),
    errors: () => received.flatMap((r) => (r.message.type === 'error' ? [r.message.error] : [])),
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (text) => socket.send(text),
    closed,
    isClosed: () => closedWith !== undefined,
    pauseReading: () => tcp().pause(),
    resumeReading: () => tcp().resume(),
    until: (what, probe, timeoutMs = 30_000) =>
      waitFor(what, probe, { timeoutMs, intervalMs: 20, describe: () => received.slice(-3) }),
    async close() {
      if (closedWith !== undefined) return;
      socket.close(1000, 'done');
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_request, response) => {
      reject(new RefusedUpgrade(response.statusCode ?? 0));
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

export class RefusedUpgrade extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
    this.name = 'RefusedUpgrade';
  }
}
