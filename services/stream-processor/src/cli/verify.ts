// `npm run views:verify [-- --wait-seconds N]`: recomputes every item's stock from the SQL event store
// and compares it with the streaming views (the Redis read model). Exit 0: equal; 1: a difference (each
// printed as item, field, sql, view); 2: could not run.
import { loadStreamProcessorConfig } from '../config.js';
import { VerifyExit, verifyViews } from '../views-verify.js';

const USAGE = 'usage: views:verify [--wait-seconds N]';

async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  let waitMs = 0;
  while (args.length > 0) {
    const arg = args.shift();
    if (arg === '--wait-seconds' && /^\d+$/.test(args[0] ?? '')) waitMs = Number(args.shift()) * 1000;
    else {
      console.error(USAGE);
      return VerifyExit.failed;
    }
  }
  return verifyViews(loadStreamProcessorConfig(), { waitMs }, console.log);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`views:verify failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(VerifyExit.failed);
  },
);
