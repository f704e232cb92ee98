// In-memory fakes of the gateway's ports, and the gateway app built over them, for route tests through
// app.inject(): each fake answers what the test set and records what it was asked. They decide nothing
// themselves (no stock, no limits, no idempotency): what the real gate and its Redis scripts do is proved
// against Redis by the integration suites; these only let a test put the HTTP layer in front of an answer.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { signBuyerToken } from '@buy-now/buyer-auth';
import type { ItemCommand } from '@buy-now/contracts';
import { createLogger, createMetrics } from '@buy-now/observability';
import { buildGatewayApp } from '../../src/app.js';
import { createBuyerGuard, type BuyerRateLimits } from '../../src/adapters/http/buyer-guard.js';
import type { RouteDeps } from '../../src/adapters/http/routes.js';
import type { AdminRequestRecord, AdminRequests } from '../../src/adapters/redis/admin-requests.js';
import { createLiveHub } from '../../src/adapters/ws/live-hub.js';
import type {
  CommandPublisher,
  DecisionFeed,
  DependencyHealth,
  HealthProbe,
  ItemCatalogue,
  ItemView,
  OutcomeWaiter,
  OutcomeWatch,
  PurchaseArchive,
} from '../../src/domain/ports.js';
import type {
  AdmitRequest,
  AdmitResult,
  GateAvailability,
  PurchaseGate,
  PurchaseRecord,
  PurchaseStatus,
} from '../../src/domain/purchase-gate.js';
import type { RateLimitCheck, RateLimiter, RateLimitVerdict } from '../../src/domain/rate-limit.js';

/** A method of a port that the HTTP routes never call: a call means the test reached further than meant. */
const notUsedByRoutes = (name: string) => () =>
  Promise.reject(new Error(`${name} is not used by the HTTP routes; this fake does not play it`));

/**
 * The admission gate as a table the test fills: `answer` is what every admit answers, purchases and
 * availability are what the reads return. Setting `failWith` makes every call fail (Redis is down).
 */
export class FakePurchaseGate implements PurchaseGate {
  /** What admit answers: 'admit' records the request as an admitted purchase; anything else as is. */
  answer: 'admit' | AdmitResult = 'admit';
  /** Every call rejects with this while it is set. */
  failWith: Error | undefined;
  /** release answers false (the reconciler claimed the purchase: it may be in the log). */
  refuseRelease = false;
  /** null: Redis lost the gate and it is being rebuilt. */
  epoch: string | null = 'epoch-1';
  readonly admitRequests: AdmitRequest[] = [];
  readonly releases: { itemId: string; purchaseId: string; why: string }[] = [];
  private readonly purchases = new Map<string, PurchaseRecord>();
  /** Purchases the gate finds by their id alone (accepted or decided), as its purchase index does. */
  private readonly indexed = new Set<string>();
  private readonly availability = new Map<string, GateAvailability>();
  private admissionSeq = 0;

  constructor(private readonly clock: () => number) {}

  /** Puts a purchase in the gate, findable by its id alone unless it is still `admitted`. */
  putPurchase(purchase: PurchaseRecord): void {
    this.purchases.set(purchase.purchaseId, { ...purchase });
    if (purchase.status === 'admitted') this.indexed.delete(purchase.purchaseId);
    else this.indexed.add(purchase.purchaseId);
  }

  /** SQL's decision reached the gate. */
  decide(purchaseId: string, status: 'confirmed' | 'rejected', reason?: string): void {
    const purchase = this.purchases.get(purchaseId);
    if (purchase === undefined) throw new Error(`the fake gate has no purchase ${purchaseId}`);
    this.putPurchase({ ...purchase, status, ...(reason === undefined ? {} : { reason }) });
  }

  /** The status the gate holds now, for assertions (undefined when it has no such purchase). */
  statusOf(purchaseId: string): PurchaseStatus | undefined {
    return this.purchases.get(purchaseId)?.status;
  }

  setAvailability(itemId: string, availability: GateAvailability): void {
    this.availability.set(itemId, { ...availability });
  }

  private run<T>(read: () => T): Promise<T> {
    return this.failWith === undefined ? Promise.resolve(read()) : Promise.reject(this.failWith);
  }

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.run(() => {
      this.admitRequests.push({ ...req });
      if (this.answer !== 'admit') return this.answer;
      const admittedAt = this.clock();
      this.admissionSeq += 1;
      this.putPurchase({
        purchaseId: req.purchaseId,
        itemId: req.itemId,
        buyerId: req.buyerId,
        quantity: req.quantity,
        status: 'admitted',
        admittedAt,
        admissionSeq: this.admissionSeq,
        idempotencyKey: req.idempotencyKey,
      });
      return {
        kind: 'admitted',
        purchaseId: req.purchaseId,
        admissionSeq: this.admissionSeq,
        available: 0,
        admittedAt,
      };
    });
  }

  markAccepted(_itemId: string, purchaseId: string): Promise<boolean> {
    return this.run(() => this.moveFromAdmitted(purchaseId, 'pending'));
  }

  release(itemId: string, purchaseId: string, why: string): Promise<boolean> {
    return this.run(() => {
      this.releases.push({ itemId, purchaseId, why });
      return !this.refuseRelease && this.moveFromAdmitted(purchaseId, 'withdrawn');
    });
  }

  private moveFromAdmitted(purchaseId: string, status: PurchaseStatus): boolean {
    const purchase = this.purchases.get(purchaseId);
    if (purchase?.status !== 'admitted') return false;
    this.putPurchase({ ...purchase, status });
    return true;
  }

  gateEpoch(): Promise<string | null> {
    return this.run(() => this.epoch);
  }

  getPurchase(purchaseId: string, itemId?: string): Promise<PurchaseRecord | null> {
    return this.run(() => {
      const purchase = this.purchases.get(purchaseId);
      if (purchase === undefined) return null;
      const found = itemId === undefined ? this.indexed.has(purchaseId) : purchase.itemId === itemId;
      return found ? { ...purchase } : null;
    });
  }

  getAvailability(itemId: string): Promise<GateAvailability | null> {
    return this.run(() => {
      const availability = this.availability.get(itemId);
      return availability === undefined ? null : { ...availability };
    });
  }

  applyOutcome = notUsedByRoutes('applyOutcome');
  applyListing = notUsedByRoutes('applyListing');
  applyStockAdjusted = notUsedByRoutes('applyStockAdjusted');
  applySoldState = notUsedByRoutes('applySoldState');
  restoreItem = notUsedByRoutes('restoreItem');
  markGateRebuilt = notUsedByRoutes('markGateRebuilt');
  admittedBuyers = notUsedByRoutes('admittedBuyers');
  claimStuck = notUsedByRoutes('claimStuck');
}

/** Records every command the "broker" acknowledged; `failWith` makes every publish fail with it. */
export class FakeCommandPublisher implements CommandPublisher {
  readonly published: ItemCommand[] = [];
  /** A CommandNotPublishedError: certainly not in the log. Anything else: it may be. */
  failWith: Error | undefined;
  /** Runs after each acknowledged command, e.g. to let the gate sell a listed item. */
  onPublished: ((command: ItemCommand) => void) | undefined;

  publish(command: ItemCommand): Promise<void> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.published.push(command);
    this.onPublished?.(command);
    return Promise.resolve();
  }
}

/** The stream processor's item views, as a Map. */
export class FakeItemCatalogue implements ItemCatalogue {
  readonly items = new Map<string, ItemView>();
  failWith: Error | undefined;

  put(item: ItemView): void {
    this.items.set(item.itemId, { ...item });
  }

  private run<T>(read: () => T): Promise<T> {
    return this.failWith === undefined ? Promise.resolve(read()) : Promise.reject(this.failWith);
  }

  getItem(itemId: string): Promise<ItemView | null> {
    return this.run(() => this.items.get(itemId) ?? null);
  }

  getItems(itemIds: readonly string[]): Promise<ItemView[]> {
    return this.run(() => itemIds.flatMap((id) => this.items.get(id) ?? []));
  }

  listItems(): Promise<ItemView[]> {
    return this.run(() => [...this.items.values()].sort((a, b) => a.itemId.localeCompare(b.itemId)));
  }
}

/** Decided purchases in SQL, as a Map. */
export class FakePurchaseArchive implements PurchaseArchive {
  readonly purchases = new Map<string, PurchaseRecord>();

  put(purchase: PurchaseRecord): void {
    this.purchases.set(purchase.purchaseId, { ...purchase });
  }

  findPurchase(purchaseId: string): Promise<PurchaseRecord | null> {
    return Promise.resolve(this.purchases.get(purchaseId) ?? null);
  }
}

export interface FakeWatch {
  purchaseId: string;
  timeoutMs: number;
  /** The route stopped watching (it saw the decision before waiting). */
  cancelled: boolean;
}

/**
 * The outcome bus, driven by the test instead of a clock: a watch ends when the test announces the
 * purchase decided or says its time ran out. Unless the test asked for the next watch to be held
 * (`holdNextWatch`), a watch runs out at once, as a wait no decision arrives in would.
 */
export class FakeDecisions implements OutcomeWaiter, DecisionFeed {
  readonly watches: FakeWatch[] = [];
  private readonly open = new Map<string, (decided: boolean) => void>();
  /** Who listens for decisions (the live hub): kept by `reset`, which forgets only what tests did. */
  readonly listeners = new Set<(purchaseIds: readonly string[]) => void>();
  private held: ((watch: FakeWatch) => void) | undefined;

  /** Resolves with the next watch, which then stays open until `announce` or `runOut`. */
  holdNextWatch(): Promise<FakeWatch> {
    return new Promise((resolve) => {
      this.held = resolve;
    });
  }

  watch(purchaseId: string, timeoutMs: number): OutcomeWatch {
    const watch: FakeWatch = { purchaseId, timeoutMs, cancelled: false };
    this.watches.push(watch);
    const decided = new Promise<boolean>((resolve) => this.open.set(purchaseId, resolve));
    const held = this.held;
    this.held = undefined;
    if (held === undefined) this.runOut(purchaseId);
    else held(watch);
    return {
      decided,
      cancel: () => {
        watch.cancelled = true;
        this.settle(purchaseId, false);
      },
    };
  }

  /** The purchases were decided (on some gateway instance). */
  announce(purchaseIds: readonly string[]): void {
    for (const purchaseId of purchaseIds) this.settle(purchaseId, true);
    for (const listener of this.listeners) listener(purchaseIds);
  }

  /** The wait for this purchase ran out without a decision. */
  runOut(purchaseId: string): void {
    this.settle(purchaseId, false);
  }

  onDecided(listener: (purchaseIds: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private settle(purchaseId: string, decided: boolean): void {
    this.open.get(purchaseId)?.(decided);
    this.open.delete(purchaseId);
  }
}

/** Allows every request unless told otherwise; records what was counted. */
export class FakeRateLimiter implements RateLimiter {
  verdict: RateLimitVerdict = { allowed: true };
  failWith: Error | undefined;
  readonly taken: RateLimitCheck[][] = [];

  take(checks: readonly RateLimitCheck[]): Promise<RateLimitVerdict> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.taken.push([...checks]);
    return Promise.resolve(this.verdict);
  }
}

export class FakeHealthProbe implements HealthProbe {
  checks: DependencyHealth[] = [
    { name: 'redis', ok: true },
    { name: 'kafka', ok: true },
  ];

  check(): Promise<DependencyHealth[]> {
    return Promise.resolve(this.checks.map((c) => ({ ...c })));
  }
}

/** Admin Idempotency-Keys in a Map: the first record under a scope and key stays. */
export class FakeAdminRequests implements AdminRequests {
  readonly records = new Map<string, AdminRequestRecord>();

  claim(scope: string, key: string, record: AdminRequestRecord): Promise<AdminRequestRecord> {
    const name = `${scope}:${key}`;
    const first = this.records.get(name) ?? record;
    this.records.set(name, first);
    return Promise.resolve({ ...first });
  }
}

export const TEST_ADMIN_TOKEN = 'route-test-admin-token-0123456789';
export const TEST_BUYER_TOKEN_SECRET = 'route-test-buyer-token-secret-0123456789';
/** A fixed instant: tokens, admissions and listings are stamped with the test's clock, never the host's. */
export const TEST_START = Date.parse('2030-01-15T12:00:00.000Z');

const LIMITS: BuyerRateLimits = {
  buyNowPerIp: { max: 10, windowMs: 1_000 },
  buyNowPerBuyer: { max: 5, windowMs: 1_000 },
  tokenIssuePerIp: { max: 3, windowMs: 60_000 },
};

/** Settings the routes read on each request, so `reset` can change them on a built app. */
export type RequestTimeSettings = Partial<
  Pick<RouteDeps, 'maxWaitSeconds' | 'listingWaitMs' | 'replayWaitMs'>
>;

export interface TestAppOverrides extends RequestTimeSettings {
  bodyLimitBytes?: number;
  /** Live connections the hub takes; 0 refuses every upgrade. */
  maxLiveConnections?: number;
}

export interface TestApp {
  app: FastifyInstance;
  gate: FakePurchaseGate;
  commands: FakeCommandPublisher;
  items: FakeItemCatalogue;
  archive: FakePurchaseArchive;
  decisions: FakeDecisions;
  limiter: FakeRateLimiter;
  health: FakeHealthProbe;
  adminRequests: FakeAdminRequests;
  /** The clock every dependency reads; move it with `advance`. */
  now(): number;
  advance(ms: number): void;
  /**
   * Puts every fake, the clock and the id sequence back as new (and the request-time settings as
   * built, or as given), so one app serves many tests: building one takes far longer than a request.
   * Metrics keep counting.
   */
  reset(settings?: RequestTimeSettings): void;
  /** Authorization of a buyer, with a token signed now by the test clock. */
  asBuyer(buyerId: string, options?: { ttlSeconds?: number; secret?: string }): { authorization: string };
  asAdmin(): { authorization: string };
}

/** The gateway's app over fresh fakes; close `app` after the tests. */
export async function buildTestApp(overrides: TestAppOverrides = {}): Promise<TestApp> {
  const { bodyLimitBytes = 4_096, maxLiveConnections = 10, ...settings } = overrides;
  let now = TEST_START;
  const clock = () => now;
  let ids = 0;
  const gate = new FakePurchaseGate(clock);
  const commands = new FakeCommandPublisher();
  const items = new FakeItemCatalogue();
  const archive = new FakePurchaseArchive();
  const decisions = new FakeDecisions();
  const limiter = new FakeRateLimiter();
  const health = new FakeHealthProbe();
  const adminRequests = new FakeAdminRequests();
  const logger = createLogger({ service: 'gateway-route-test', level: 'silent' });
  const metrics = createMetrics('gateway', { defaultMetrics: false });

  const builtSettings: Required<RequestTimeSettings> = {
    maxWaitSeconds: 5,
    // The listing route waits by the host's clock (not deps.clock): 0 answers 202 at once.
    listingWaitMs: 0,
    // A retry finds its original still admitted only when the test put it so: answer at once.
    replayWaitMs: 0,
    ...settings,
  };
  const deps: RouteDeps = {
    gate,
    commands,
    outcomes: decisions,
    clock,
    newId: () => `id-${++ids}`,
    gatewayId: 'gateway-under-test',
    items,
    archive,
    health,
    metrics,
    adminToken: TEST_ADMIN_TOKEN,
    buyerGuard: createBuyerGuard({ secret: TEST_BUYER_TOKEN_SECRET, limiter, limits: LIMITS, clock }),
    adminRequests,
    ...builtSettings,
  };
  const hub = createLiveHub({
    catalogue: items,
    findPurchase: async (purchaseId) =>
      (await gate.getPurchase(purchaseId)) ?? (await archive.findPurchase(purchaseId)),
    decisions,
    clock,
    logger,
    metrics,
    limits: {
      maxConnections: maxLiveConnections,
      maxSubscriptions: 10,
      maxWatches: 10,
      heartbeatMs: 60_000,
      maxBadMessages: 3,
      send: { softLimitBytes: 65_536, hardLimitBytes: 1_048_576, flushIntervalMs: 100, closeGraceMs: 100 },
    },
  });
  const app = await buildGatewayApp(deps, {
    logger,
    bodyLimitBytes,
    trustProxy: false,
    // A folder that never holds a build: the pages answer the same whether the storefront was built or not.
    storefrontDir: fileURLToPath(new URL('./no-storefront-build/', import.meta.url)),
    live: { hub, maxMessageBytes: 4_096 },
  });
  await app.ready();
  return {
    app,
    gate,
    commands,
    items,
    archive,
    decisions,
    limiter,
    health,
    adminRequests,
    now: clock,
    advance: (ms) => {
      now += ms;
    },
    reset: (resetSettings = {}) => {
      now = TEST_START;
      ids = 0;
      // A fresh instance's fields over the old one's: the app, the guard and the hub keep their references.
      Object.assign(gate, new FakePurchaseGate(clock));
      Object.assign(commands, new FakeCommandPublisher());
      Object.assign(items, new FakeItemCatalogue());
      Object.assign(archive, new FakePurchaseArchive());
      Object.assign(decisions, new FakeDecisions(), { listeners: decisions.listeners });
      Object.assign(limiter, new FakeRateLimiter());
      Object.assign(health, new FakeHealthProbe());
      Object.assign(adminRequests, new FakeAdminRequests());
      Object.assign(deps, builtSettings, resetSettings);
    },
    asBuyer: (buyerId, options = {}) => ({
      authorization: `Bearer ${signBuyerToken({
        secret: options.secret ?? TEST_BUYER_TOKEN_SECRET,
        buyerId,
        now,
        ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
      })}`,
    }),
    asAdmin: () => ({ authorization: `Bearer ${TEST_ADMIN_TOKEN}` }),
  };
}
