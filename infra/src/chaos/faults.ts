// The fault schedule of a run (seeded, so `--seed` replays it) and its execution: kill -9 of each service
// (started again after a short random delay), a Kafka broker restart, FLUSHALL of Redis, a PostgreSQL
// restart, and the ambiguous one: the broker's answers to produce requests lost for a while (it appends,
// the producers time out), all against the run's private servers.
import type { Random } from './random.js';

export const serviceNames = ['gateway-a', 'gateway-b', 'reservation', 'stream-processor'] as const;
export type ServiceName = (typeof serviceNames)[number];

export type FaultKind =
  `kill ${ServiceName}` | 'restart kafka' | 'flushall redis' | 'restart postgres' | 'lose produce answers';

export interface PlannedFault {
  /** ms after the load started. */
  atMs: number;
  kind: FaultKind;
  /** For a kill: how long the service stays dead; for lost answers: how long they are lost. */
  downMs?: number;
}

export interface FaultPlanOptions {
  loadMs: number;
  kills: number;
  kafkaRestarts: number;
  redisFlushes: number;
  postgresRestarts: number;
  /** Times the broker's produce answers are lost (default 0). */
  produceAnswerLosses?: number;
}

/**
 * Kills spread over every service in turn (so each is killed), the other faults at random moments; all
 * inside the load, away from its first and last seconds so each fault meets a sale in progress.
 */
export function planFaults(random: Random, options: FaultPlanOptions): PlannedFault[] {
  const from = Math.min(5_000, options.loadMs / 10);
  const to = options.loadMs - Math.min(8_000, options.loadMs / 8);
  const at = () => Math.round(random.between(from, to));
  const faults: PlannedFault[] = [];
  const victims = [...serviceNames];
  for (let i = 0; i < options.kills; i++) {
    if (i % victims.length === 0) shuffle(random, victims);
    const victim = victims[i % victims.length] as ServiceName;
    faults.push({ atMs: at(), kind: `kill ${victim}`, downMs: random.int(300, 3_000) });
  }
  for (let i = 0; i < options.kafkaRestarts; i++) faults.push({ atMs: at(), kind: 'restart kafka' });
  for (let i = 0; i < options.redisFlushes; i++) faults.push({ atMs: at(), kind: 'flushall redis' });
  for (let i = 0; i < options.postgresRestarts; i++) faults.push({ atMs: at(), kind: 'restart postgres' });
  for (let i = 0; i < (options.produceAnswerLosses ?? 0); i++)
    faults.push({ atMs: at(), kind: 'lose produce answers', downMs: random.int(1_500, 4_000) });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

function shuffle<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

export interface InjectedFault extends PlannedFault {
  /** Epoch ms it was injected, and when it was over (the service or server back). */
  startedAt: number;
  endedAt: number;
  error?: string;
}

export interface FaultTargets {
  kill(service: ServiceName, downMs: number): Promise<void>;
  restartKafka(): Promise<void>;
  flushRedis(): Promise<void>;
  restartPostgres(): Promise<void>;
  /** The broker appends what producers send but its answers are lost for `ms`. */
  loseProduceAnswers(ms: number): Promise<void>;
}

/** Runs the plan in order (a fault that comes due while another runs goes right after it). */
export async function injectFaults(
  plan: readonly PlannedFault[],
  targets: FaultTargets,
  loadStartedAt: number,
  onFault: (fault: InjectedFault) => void,
): Promise<InjectedFault[]> {
  const injected: InjectedFault[] = [];
  for (const fault of plan) {
    const wait = loadStartedAt + fault.atMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const startedAt = Date.now();
    let error: string | undefined;
    try {
      if (fault.kind.startsWith('kill ')) {
        await targets.kill(fault.kind.slice('kill '.length) as ServiceName, fault.downMs ?? 1_000);
      } else if (fault.kind === 'restart kafka') await targets.restartKafka();
      else if (fault.kind === 'flushall redis') await targets.flushRedis();
      else if (fault.kind === 'lose produce answers') await targets.loseProduceAnswers(fault.downMs ?? 2_000);
      else await targets.restartPostgres();
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const done: InjectedFault = { ...fault, startedAt, endedAt: Date.now(), ...(error ? { error } : {}) };
    injected.push(done);
    onFault(done);
  }
  return injected;
}
