// One WebSocket client of live views, and the send policy that keeps a slow client from costing anyone
// else anything:
// - Nothing on the send path waits for a client: a frame is queued on its socket and the fan-out moves on.
// - Each item's versions reach a connection strictly increasing: anything not newer than what the
//   connection already got (or has waiting) is dropped.
// - Above the soft limit of unsent bytes, stock updates are held back instead, latest version per item
//   wins, and are flushed once the socket drains (checked every flush interval): a slow client skips
//   intermediate versions but always ends with the final state.
// - Above the hard limit, the client is not keeping up at all: the connection is closed with 1013 (try
//   again later) and dropped from the fan-out at once; it is terminated if it does not complete the
//   close in time. Its memory cost is bounded by the hard limit plus one pending view per item.
// Purchase outcomes and errors are never coalesced (each is small and says something once).

/** The part of a ws WebSocket a connection uses (a fake in unit tests). */
export interface LiveSocket {
  /** Bytes queued on the socket and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export interface SendPolicy {
  softLimitBytes: number;
  hardLimitBytes: number;
  /** How often held-back updates are retried while the socket is above the soft limit. */
  flushIntervalMs: number;
  /** How long a closing connection gets to complete the close handshake before it is cut. */
  closeGraceMs: number;
}

export const CloseCode = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
} as const;

const OPEN = 1;

export interface LiveConnection {
  readonly id: number;
  /** Item ids and "*" this connection is subscribed to. */
  readonly subscriptions: Set<string>;
  /** Purchase ids whose outcome this connection waits for. */
  readonly watches: Set<string>;
  badMessages: number;
  /** Answered the last ping. */
  alive: boolean;
  /** Offers a stock update; sent now, held back (latest wins) or dropped, as the policy says. */
  offerStock(itemId: string, version: number, frame: string): void;
  /** Sends a purchase outcome or an error. */
  send(frame: string): void;
  /** Forgets the items no longer wanted (after an unsubscribe: a new subscription starts afresh). */
  forgetUnwanted(wanted: (itemId: string) => boolean): void;
  isOpen(): boolean;
  /** Closes with this code; the client is cut if it does not complete the close within the grace. */
  close(code: number, reason: string): void;
  terminate(): void;
  /** The socket closed (whoever started it). */
  closed(): void;
  /** Items held back right now (for metrics and tests). */
  heldBack(): number;
}

export interface LiveConnectionOptions {
  id: number;
  socket: LiveSocket;
  policy: SendPolicy;
  /** Called once, when the connection leaves the fan-out (closed by us or by the client). */
  onGone: (connection: LiveConnection) => void;
  onSlowClose?: () => void;
  onCoalesced?: () => void;
}

export function createLiveConnection(options: LiveConnectionOptions): LiveConnection {
  const { socket, policy } = options;
  const sentVersions = new Map<string, number>();
  const held = new Map<string, { version: number; frame: string }>();
  let flushTimer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let gone = false;
  let closing = false;

  const leave = () => {
    if (gone) return;
    gone = true;
    held.clear();
    clearInterval(flushTimer);
    flushTimer = undefined;
    options.onGone(connection);
  };

  const tooSlow = (): boolean => {
    if (socket.bufferedAmount <= policy.hardLimitBytes) return false;
    options.onSlowClose?.();
    connection.close(CloseCode.tryAgainLater, 'too slow: unsent data over the limit');
    return true;
  };

  const flush = () => {
    if (gone || tooSlow()) return;
    for (const [itemId, update] of held) {
      if (socket.bufferedAmount > policy.softLimitBytes) break;
      held.delete(itemId);
      sentVersions.set(itemId, update.version);
      socket.send(update.frame);
    }
    if (held.size === 0) {
      clearInterval(flushTimer);
      flushTimer = undefined;
    }
  };

  const connection: LiveConnection = {
    id: options.id,
    subscriptions: new Set(),
    watches: new Set(),
    badMessages: 0,
    alive: true,
    offerStock(itemId, version, frame) {
      if (gone || socket.readyState !== OPEN) return;
      const newest = Math.max(sentVersions.get(itemId) ?? 0, held.get(itemId)?.version ?? 0);
      if (version <= newest) return;
      if (held.size === 0 && socket.bufferedAmount <= policy.softLimitBytes) {
        sentVersions.set(itemId, version);
        socket.send(frame);
        return;
      }
      if (tooSlow()) return;
      if (held.has(itemId)) options.onCoalesced?.();
      // Re-inserted so the flush order follows the latest change.
      held.delete(itemId);
      held.set(itemId, { version, frame });
      if (socket.bufferedAmount <= policy.softLimitBytes) flush();
      if (held.size > 0 && flushTimer === undefined) {
        flushTimer = setInterval(flush, policy.flushIntervalMs);
        flushTimer.unref();
      }
    },
    send(frame) {
      if (gone || socket.readyState !== OPEN || tooSlow()) return;
      socket.send(frame);
    },
    forgetUnwanted(wanted) {
      for (const itemId of [...sentVersions.keys()]) if (!wanted(itemId)) sentVersions.delete(itemId);
      for (const itemId of [...held.keys()]) if (!wanted(itemId)) held.delete(itemId);
    },
    isOpen: () => !gone && socket.readyState === OPEN,
    close(code, reason) {
      leave();
      if (closing) return;
      closing = true;
      try {
        socket.close(code, reason);
      } catch {
        socket.terminate();
        return;
      }
      // A client that stopped reading never answers the close frame: cut it after the grace.
      graceTimer = setTimeout(() => socket.terminate(), policy.closeGraceMs);
      graceTimer.unref();
    },
    terminate() {
      leave();
      closing = true;
      clearTimeout(graceTimer);
      socket.terminate();
    },
    closed() {
      leave();
      closing = true;
      clearTimeout(graceTimer);
    },
    heldBack: () => held.size,
  };
  return connection;
}
