// `npm run views:rebuild [-- --apply]`: replays item-events from offset 0 into fresh stock views and
// compares them with the live read model. Exit 0: identical (or, with --apply, replaced); 1: different;
// 2: could not run.
//
// --apply (stop every stream-processor instance first): resets the processor's consumer group to the
// earliest offsets and deletes the read-model keys; the processor, once started again, rebuilds them.
import { createLogger } from '@buy-now/observability';
import { loadStreamProcessorConfig } from '../config.js';
import { RebuildExit, rebuildViews } from '../views-rebuild.js';

const USAGE = 'usage: views:rebuild [--apply] [--timeout-seconds N]';

async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  let apply = false;
  let timeoutMs: number | undefined;
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === '--apply') apply = true;
    else if (arg === '--timeout-seconds' && /^\d+$/.test(args[0] ?? ''))
      timeoutMs = Number(args.shift()) * 1000;
    else {
      console.error(USAGE);
      return RebuildExit.failed;
    }
  }
  const config = loadStreamProcessorConfig();
  // Logs go to stderr at warn: stdout is the report.
  const logger = createLogger({ service: 'views-rebuild', level: 'warn', destination: process.stderr });
  return rebuildViews(
    config,
    { apply, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    console.log,
    logger,
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`views:rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(RebuildExit.failed);
  },
);
