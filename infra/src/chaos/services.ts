// The services as supervised child processes (their built dist/main.js): a killed one is started again
// after the delay its fault chose, one that failed to start (say, while Kafka is down) is retried, and
// every line it prints goes to its log file in the run folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceKind = 'gateway' | 'reservation' | 'stream-processor';

const MAINS: Record<ServiceKind, { script: string; ready: string }> = {
  gateway: { script: 'services/gateway/dist/main.js', ready: 'gateway listening' },
  reservation: { script: 'services/reservation/dist/main.js', ready: 'reservation consuming item-commands' },
  'stream-processor': {
    script: 'services/stream-processor/dist/main.js',
    ready: 'stream-processor consuming item-events',
  },
};

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms from the signal we sent to the exit; undefined when it exited by itself. */
  afterSignalMs?: number;
  signalSent?: NodeJS.Signals;
}

export interface SupervisedService {
  readonly name: string;
  readonly kind: ServiceKind;
  /** True while a process runs and printed its ready line. */
  isReady(): boolean;
  /** Resolves once a process is ready (starting one if none runs). */
  ready(): Promise<void>;
  /** SIGKILL now; started again after `restartAfterMs`. Resolves once it died. */
  kill(restartAfterMs: number): Promise<void>;
  /** SIGTERM and wait for the exit (no restart until start()); returns how it exited. */
  terminate(timeoutMs?: number): Promise<ExitRecord>;
  /** Starts it again after terminate(). */
  start(): Promise<void>;
  /** Stops for good: SIGTERM, SIGKILL after the timeout. */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Every exit so far. */
  exits(): readonly ExitRecord[];
  startsCount(): number;
  /** The last lines printed, for failure messages. */
  tail(): string;
}

export interface ServiceSpec {
  name: string;
  kind: ServiceKind;
  env: Record<string, string>;
  logDir: string;
  onEvent?: (line: string) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function superviseService(spec: ServiceSpec): SupervisedService {
  const main = MAINS[spec.kind];
  const log: WriteStream = createWriteStream(join(spec.logDir, `${spec.name}.log`), { flags: 'a' });
  const lines: string[] = [];
  const exits: ExitRecord[] = [];
  let child: ChildProcess | undefined;
  let readyNow = false;
  let wanted = true; // false after terminate/shutdown: no automatic restart
  let finished = false;
  let starts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];
  let signalSent: { signal: NodeJS.Signals; at: number } | undefined;
  let exitWaiters: ((exit: ExitRecord) => void)[] = [];

  const keep = (text: string) => {
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      lines.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (lines.length > 40) lines.shift();
      if (!readyNow && line.includes(main.ready) && child !== undefined) {
        readyNow = true;
        const ready = waiters;
        waiters = [];
        for (const resolve of ready) resolve();
      }
    }
  };

  const launch = () => {
    if (finished || child !== undefined) return;
    starts += 1;
    readyNow = false;
    const current = spawn(process.execPath, [main.script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      keep(chunk.toString('utf8'));
    };
    current.stdout?.on('data', onData);
    current.stderr?.on('data', onData);
    // Stuck starting (a broker that never answers): kill it, the exit handler starts another.
    const startDeadline = setTimeout(() => {
      if (child === current && !readyNow) current.kill('SIGKILL');
    }, 90_000);
    current.once('exit', (code, signal) => {
      clearTimeout(startDeadline);
      const exit: ExitRecord = { code, signal };
      if (signalSent) {
        exit.signalSent = signalSent.signal;
        exit.afterSignalMs = Date.now() - signalSent.at;
      }
      signalSent = undefined;
      exits.push(exit);
      child = undefined;
      readyNow = false;
      spec.onEvent?.(`${spec.name} exited (${signal ?? `code ${String(code)}`})`);
      const waiting = exitWaiters;
      exitWaiters = [];
      for (const resolve of waiting) resolve(exit);
      if (wanted && !finished && restartTimer === undefined) {
        // Exited by itself (could not start, or crashed): try again shortly.
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          launch();
        }, 1_000);
      }
    });
  };

  const waitExit = () =>
    new Promise<ExitRecord>((resolve) => {
      if (child === undefined) resolve(exits[exits.length - 1] ?? { code: null, signal: null });
      else exitWaiters.push(resolve);
    });

  const service: SupervisedService = {
    name: spec.name,
    kind: spec.kind,
    isReady: () => readyNow,
    ready: () =>
      new Promise<void>((resolve) => {
        if (readyNow) return resolve();
        waiters.push(resolve);
        if (child === undefined && restartTimer === undefined) launch();
      }),
    async kill(restartAfterMs) {
      if (child === undefined) return;
      // The exit handler must not restart it at once: the fault's delay decides.
      restartTimer ??= setTimeout(() => {
        restartTimer = undefined;
        launch();
      }, restartAfterMs);
      const exited = waitExit();
      signalSent = { signal: 'SIGKILL', at: Date.now() };
      child.kill('SIGKILL');
      await exited;
    },
    async terminate(timeoutMs = 30_000) {
      wanted = false;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      const current = child;
      if (current === undefined) return exits[exits.length - 1] ?? { code: null, signal: null };
      const exited = waitExit();
      signalSent = { signal: 'SIGTERM', at: Date.now() };
      current.kill('SIGTERM');
      const late = sleep(timeoutMs).then(() => 'late' as const);
      if ((await Promise.race([exited, late])) === 'late') current.kill('SIGKILL');
      return exited;
    },
    async start() {
      wanted = true;
      await service.ready();
    },
    async shutdown(timeoutMs = 30_000) {
      await service.terminate(timeoutMs);
      finished = true;
      await new Promise<void>((resolve) => log.end(() => resolve()));
    },
    exits: () => exits,
    startsCount: () => starts,
    tail: () => lines.join('\n'),
  };
  return service;
}
