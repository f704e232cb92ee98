// The live-views hub of one gateway instance: its WebSocket connections, what each is subscribed to and
// watches, and the fan-out of stock views (from this instance's stock-views consumer) and purchase
// outcomes (from the outcome bus) to them. Nothing here waits for a client; see live-connection.ts for
// the drop-or-close policy that keeps a slow client from delaying the others.
import type { SalesMetrics, StockView } from '@buy-now/contracts';
import type { Logger, Metrics } from '@buy-now/observability';
import type { WebSocket } from 'ws';
import { isDecided, publicStatusOf } from '../../domain/buy-now.js';
import { itemJson, itemViewOf } from '../../domain/item-view.js';
import {
  addWatches,
  changeSubscriptions,
  EVERY_ITEM,
  parseClientRequest,
  type Feed,
  type LiveError,
} from '../../domain/live-views.js';
import type { DecisionFeed, ItemCatalogue, ItemView } from '../../domain/ports.js';
import type { PurchaseRecord } from '../../domain/purchase-gate.js';
import { ID_PATTERN } from '../http/schemas.js';
import { CloseCode, createLiveConnection, type LiveConnection, type SendPolicy } from './live-connection.js';

export interface LiveLimits {
  maxConnections: number;
  maxSubscriptions: number;
  maxWatches: number;
  heartbeatMs: number;
  /** Bad messages a connection may send before it is closed (1008). */
  maxBadMessages: number;
  send: SendPolicy;
}

export interface LiveHubDeps {
  catalogue: ItemCatalogue;
  /** The purchase as the gate (or, when Redis lost it, SQL) has it. */
  findPurchase: (purchaseId: string) => Promise<PurchaseRecord | null>;
  decisions: DecisionFeed;
  clock: () => number;
  logger: Logger;
  metrics: Metrics;
  limits: LiveLimits;
  /** Recent sales-metrics windows, sent to a connection when it follows "metrics". */
  recentMetrics?: () => readonly SalesMetrics[];
}

export interface GroupLag {
  /** The role of the group: reservation, stream-processor, gateway-follower. */
  group: string;
  groupId: string;
  topic: string;
  /** Records published and not yet committed by the group, over every partition. */
  lag: number;
}

export interface LiveHub {
  /** False when this instance has as many connections as it takes. */
  canAccept(): boolean;
  /** Takes an upgraded socket. */
  accept(socket: WebSocket): void;
  /** The newest view of some items, from stock-views. */
  publish(views: readonly StockView[]): void;
  /** Closed sales-metrics windows, to the connections that follow "metrics". */
  publishMetrics(records: readonly SalesMetrics[]): void;
  /** The lag of each consumer group, to the connections that follow "lag". */
  publishLag(groups: readonly GroupLag[], at: number): void;
  /** How many connections follow a feed now (the lag poller runs only while some do). */
  following(feed: Feed): number;
  /** Sends every connection the current view of what it is subscribed to (after a gap in the feed). */
  resync(): Promise<void>;
  connections(): number;
  /** Closes every connection (1001) and stops the heartbeats; cuts those that do not close in time. */
  close(graceMs?: number): Promise<void>;
}

const ID = new RegExp(ID_PATTERN);

export function createLiveHub(deps: LiveHubDeps): LiveHub {
  const { limits, logger } = deps;
  const all = new Set<LiveConnection>();
  const sockets = new Map<LiveConnection, WebSocket>();
  const byItem = new Map<string, Set<LiveConnection>>();
  const byPurchase = new Map<string, Set<LiveConnection>>();
  const byFeed = new Map<Feed, Set<LiveConnection>>([
    ['metrics', new Set()],
    ['lag', new Set()],
  ]);
  let nextId = 1;

  const connectionsGauge = deps.metrics.gauge('ws_connections', 'Open WebSocket connections');
  const framesSent = deps.metrics.counter('ws_frames_total', 'WebSocket frames offered to clients', ['type']);
  const slowCloses = deps.metrics.counter(
    'ws_slow_closes_total',
    'WebSocket connections closed (1013) because unsent data passed the hard limit',
  );
  const heartbeatCuts = deps.metrics.counter(
    'ws_heartbeat_cuts_total',
    'WebSocket connections cut because no pong came since the last ping (gone, or not reading)',
  );
  const coalesced = deps.metrics.counter(
    'ws_coalesced_updates_total',
    'Stock updates replaced by a newer one while a client was above the soft limit',
  );
  const badMessages = deps.metrics.counter('ws_bad_messages_total', 'Refused WebSocket messages', ['code']);

  const index = (map: Map<string, Set<LiveConnection>>, key: string, connection: LiveConnection) => {
    const set = map.get(key);
    if (set === undefined) map.set(key, new Set([connection]));
    else set.add(connection);
  };
  const unindex = (map: Map<string, Set<LiveConnection>>, key: string, connection: LiveConnection) => {
    const set = map.get(key);
    if (set === undefined) return;
    set.delete(connection);
    if (set.size === 0) map.delete(key);
  };

  const stockFrame = (item: ItemView) => JSON.stringify({ type: 'stock', view: itemJson(item) });
  const errorFrame = (error: LiveError) => JSON.stringify({ type: 'error', error });
  const purchaseFrame = (purchase: PurchaseRecord) =>
    JSON.stringify({
      type: 'purchase',
      purchase: { purchaseId: purchase.purchaseId, itemId: purchase.itemId, ...publicStatusOf(purchase) },
    });

  const metricsFrame = (records: readonly SalesMetrics[]) =>
    JSON.stringify({ type: 'metrics', metrics: records });

  const wants = (connection: LiveConnection, itemId: string) =>
    connection.subscriptions.has(itemId) || connection.subscriptions.has(EVERY_ITEM);

  const offerItems = (connection: LiveConnection, items: readonly ItemView[]) => {
    for (const item of items) {
      if (!wants(connection, item.itemId)) continue;
      framesSent.inc({ type: 'stock' });
      connection.offerStock(item.itemId, item.version, stockFrame(item));
    }
  };

  const deliverPurchase = (purchase: PurchaseRecord, to: Iterable<LiveConnection>) => {
    const frame = purchaseFrame(purchase);
    for (const connection of [...to]) {
      connection.watches.delete(purchase.purchaseId);
      unindex(byPurchase, purchase.purchaseId, connection);
      framesSent.inc({ type: 'purchase' });
      connection.send(frame);
    }
  };

  const forgetConnection = (connection: LiveConnection) => {
    all.delete(connection);
    sockets.delete(connection);
    for (const itemId of connection.subscriptions) unindex(byItem, itemId, connection);
    for (const purchaseId of connection.watches) unindex(byPurchase, purchaseId, connection);
    for (const followers of byFeed.values()) followers.delete(connection);
    connectionsGauge.set(all.size);
  };

  const refuse = (connection: LiveConnection, error: LiveError) => {
    badMessages.inc({ code: error.code });
    connection.badMessages++;
    framesSent.inc({ type: 'error' });
    connection.send(errorFrame(error));
    if (connection.badMessages >= limits.maxBadMessages) {
      connection.close(CloseCode.policyViolation, `${limits.maxBadMessages} bad messages`);
    }
  };

  const unavailable = (connection: LiveConnection, what: string, error: unknown) => {
    logger.warn({ err: error }, `live views: ${what} failed`);
    framesSent.inc({ type: 'error' });
    connection.send(
      errorFrame({
        code: 'SERVICE_UNAVAILABLE',
        message: `${what} failed; the subscription stands and changes will follow, or send it again`,
      }),
    );
  };

  /** One client message: a bad one changes nothing and is answered with an error frame. */
  const handleMessage = async (connection: LiveConnection, text: string): Promise<void> => {
    const parsed = parseClientRequest(text, ID);
    if (!parsed.ok) return refuse(connection, parsed.error);
    const { request } = parsed;
    const change = changeSubscriptions(connection.subscriptions, request, limits.maxSubscriptions);
    if (!change.ok) return refuse(connection, change.error);
    const watching = addWatches(connection.watches, request.watch, limits.maxWatches);
    if (!watching.ok) return refuse(connection, watching.error);

    for (const itemId of change.removed) {
      connection.subscriptions.delete(itemId);
      unindex(byItem, itemId, connection);
    }
    // Items no longer wanted start afresh if subscribed again (their current view is sent again).
    if (change.removed.length > 0) connection.forgetUnwanted((itemId) => wants(connection, itemId));
    // Subscribed before the current views are read: a change published meanwhile is not missed, and
    // the per-item version check drops whichever of the two is older.
    for (const itemId of change.added) {
      connection.subscriptions.add(itemId);
      index(byItem, itemId, connection);
    }
    for (const purchaseId of watching.added) {
      connection.watches.add(purchaseId);
      index(byPurchase, purchaseId, connection);
    }

    for (const feed of request.unfollow) byFeed.get(feed)?.delete(connection);
    for (const feed of request.follow) {
      const followers = byFeed.get(feed);
      if (followers === undefined || followers.has(connection)) continue;
      followers.add(connection);
      const recent = feed === 'metrics' ? (deps.recentMetrics?.() ?? []) : [];
      if (recent.length > 0) {
        framesSent.inc({ type: 'metrics' });
        connection.send(metricsFrame(recent));
      }
    }

    if (change.added.length > 0) {
      try {
        const items = change.added.includes(EVERY_ITEM)
          ? await deps.catalogue.listItems()
          : await deps.catalogue.getItems(change.added);
        offerItems(connection, items);
      } catch (error) {
        unavailable(connection, 'reading the current views', error);
      }
    }
    // Watched after registering: an outcome announced in between is not missed.
    await Promise.all(
      watching.added.map(async (purchaseId) => {
        let purchase: PurchaseRecord | null;
        try {
          purchase = await deps.findPurchase(purchaseId);
        } catch (error) {
          return unavailable(connection, `reading purchase ${purchaseId}`, error);
        }
        if (purchase === null) {
          connection.watches.delete(purchaseId);
          unindex(byPurchase, purchaseId, connection);
          framesSent.inc({ type: 'error' });
          connection.send(
            errorFrame({ code: 'PURCHASE_NOT_FOUND', message: `no purchase ${purchaseId} to watch` }),
          );
          return;
        }
        if (isDecided(purchase) && connection.watches.has(purchaseId))
          deliverPurchase(purchase, [connection]);
      }),
    );
  };

  const stopListening = deps.decisions.onDecided((purchaseIds) => {
    for (const purchaseId of purchaseIds) {
      if (!byPurchase.has(purchaseId)) continue;
      deps.findPurchase(purchaseId).then(
        (purchase) => {
          const watchers = byPurchase.get(purchaseId);
          if (purchase !== null && isDecided(purchase) && watchers !== undefined) {
            deliverPurchase(purchase, watchers);
          }
        },
        (error: unknown) =>
          logger.warn({ err: error, purchaseId }, 'live views: reading a decided purchase failed'),
      );
    }
  });

  const heartbeat = setInterval(() => {
    for (const connection of [...all]) {
      if (!connection.alive) {
        logger.debug({ connection: connection.id }, 'live views: no pong since the last ping; cut');
        heartbeatCuts.inc();
        connection.terminate();
        continue;
      }
      connection.alive = false;
      try {
        sockets.get(connection)?.ping();
      } catch {
        connection.terminate();
      }
    }
  }, limits.heartbeatMs);
  heartbeat.unref();

  return {
    canAccept: () => all.size < limits.maxConnections,
    accept(socket) {
      const connection = createLiveConnection({
        id: nextId++,
        socket,
        policy: limits.send,
        onGone: forgetConnection,
        onSlowClose: () => slowCloses.inc(),
        onCoalesced: () => coalesced.inc(),
      });
      socket.on('close', () => connection.closed());
      socket.on('pong', () => {
        connection.alive = true;
      });
      if (all.size >= limits.maxConnections) {
        // Upgrades that raced past the check before the upgrade.
        connection.close(CloseCode.tryAgainLater, 'too many connections on this instance');
        return;
      }
      all.add(connection);
      sockets.set(connection, socket);
      connectionsGauge.set(all.size);
      let queue = Promise.resolve();
      socket.on('message', (data, isBinary) => {
        const text = Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8');
        // One message at a time per connection, so subscribe and unsubscribe apply in the order sent, and
        // the answers (error frames too, a binary frame's included) come in that order.
        const handle = () =>
          isBinary
            ? refuse(connection, { code: 'INVALID_MESSAGE', message: 'send JSON in text frames' })
            : handleMessage(connection, text);
        queue = queue
          .then(() => (connection.isOpen() ? handle() : undefined))
          .catch((error: unknown) => logger.error({ err: error }, 'live views: message handling failed'));
      });
    },
    publish(views) {
      if (all.size === 0) return;
      const now = deps.clock();
      const everything = byItem.get(EVERY_ITEM);
      for (const view of views) {
        const subscribers = byItem.get(view.itemId);
        if (subscribers === undefined && everything === undefined) continue;
        // Serialised once, sent to every subscriber.
        const frame = stockFrame(itemViewOf(view, now));
        for (const set of [subscribers, everything]) {
          if (set === undefined) continue;
          for (const connection of set) {
            framesSent.inc({ type: 'stock' });
            connection.offerStock(view.itemId, view.version, frame);
          }
        }
      }
    },
    publishMetrics(records) {
      const followers = byFeed.get('metrics');
      if (records.length === 0 || followers === undefined || followers.size === 0) return;
      const frame = metricsFrame(records);
      for (const connection of followers) {
        framesSent.inc({ type: 'metrics' });
        connection.send(frame);
      }
    },
    publishLag(groups, at) {
      const followers = byFeed.get('lag');
      if (followers === undefined || followers.size === 0) return;
      const frame = JSON.stringify({ type: 'lag', at, groups });
      for (const connection of followers) {
        framesSent.inc({ type: 'lag' });
        connection.send(frame);
      }
    },
    following: (feed) => byFeed.get(feed)?.size ?? 0,
    async resync() {
      if (all.size === 0) return;
      const connections = [...all];
      const everyItem = connections.some((c) => c.subscriptions.has(EVERY_ITEM));
      const itemIds = [...byItem.keys()].filter((itemId) => itemId !== EVERY_ITEM);
      const items = everyItem ? await deps.catalogue.listItems() : await deps.catalogue.getItems(itemIds);
      for (const connection of connections) offerItems(connection, items);
    },
    connections: () => all.size,
    async close(graceMs = 1_000) {
      clearInterval(heartbeat);
      stopListening();
      const open = [...sockets.values()];
      for (const connection of [...all]) connection.close(CloseCode.goingAway, 'server shutting down');
      const deadline = Date.now() + graceMs;
      while (open.some((socket) => socket.readyState !== socket.CLOSED) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const socket of open) if (socket.readyState !== socket.CLOSED) socket.terminate();
    },
  };
}
