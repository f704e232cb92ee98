import { Writable } from 'node:stream';
import { createLogger } from '@buy-now/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { runService } from '../src/index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', destination }) };
}

describe('runService', () => {
  afterEach(() => {
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
  });

  it('starts, and on SIGTERM stops the service before exiting 0', async () => {
    const { lines, logger } = capture();
    const events: string[] = [];
    const exited = new Promise<number>((resolve) => {
      void runService({
        service: 'reservation',
        logger,
        runningMessage: 'consuming item-commands',
        start: () => {
          events.push('start');
          return Promise.resolve({
            stop: () => {
              events.push('stop');
              return Promise.resolve();
            },
          });
        },
        exit: (code) => {
          events.push(`exit ${code}`);
          resolve(code);
        },
      });
    });
    await new Promise((r) => setImmediate(r));
    process.emit('SIGTERM');
    expect(await exited).toBe(0);
    expect(events).toEqual(['start', 'stop', 'exit 0']);
    expect(lines.map((l) => l.msg)).toEqual(['reservation consuming item-commands', 'shutting down']);
  });

  it('exits 1 with a hint when the service cannot start, and 1 when stopping fails', async () => {
    const { lines, logger } = capture();
    const codes: number[] = [];
    await runService({
      service: 'gateway',
      logger,
      runningMessage: 'listening',
      start: () => Promise.reject(new Error('ECONNREFUSED')),
      exit: (code) => codes.push(code),
    });
    expect(codes).toEqual([1]);
    expect(String(lines[0]?.msg)).toMatch(/gateway failed to start: is the infrastructure up/);

    const stopped = new Promise<number>((resolve) => {
      void runService({
        service: 'gateway',
        logger,
        runningMessage: 'listening',
        start: () => Promise.resolve({ stop: () => Promise.reject(new Error('flush failed')) }),
        exit: resolve,
      });
    });
    await new Promise((r) => setImmediate(r));
    process.emit('SIGINT');
    expect(await stopped).toBe(1);
  });
});
