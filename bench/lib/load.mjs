// Runs the load generator (load-worker.mjs) in a worker thread and hands back its result; the worker is
// terminated if it overruns its own bound by a wide margin, so a run can never hang here.
import { Worker } from 'node:worker_threads';

const WORKER = new URL('./load-worker.mjs', import.meta.url);

/**
 * @param {object} spec the worker's options (mode, port, ...)
 * @param {{ boundMs: number, onProgress?: (progress: object) => void }} control
 */
export function runLoad(spec, { boundMs, onProgress }) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: spec });
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      fn(value);
    };
    const watchdog = setTimeout(() => {
      void worker.terminate();
      finish(reject, new Error(`load generator (${spec.mode}) overran ${boundMs} ms and was stopped`));
    }, boundMs + 30_000);
    worker.on('message', (message) => {
      if (message.type === 'progress') onProgress?.(message);
      else if (message.type === 'result') finish(resolve, { ...message.result, buffers: message.buffers });
      else if (message.type === 'error')
        finish(reject, new Error(`load generator failed: ${message.message}`));
    });
    worker.on('error', (error) => finish(reject, error));
    worker.on('exit', (code) =>
      finish(reject, new Error(`load generator exited (${code}) without a result`)),
    );
  });
}
