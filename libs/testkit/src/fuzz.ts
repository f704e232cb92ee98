// Settings of the property-based (fast-check) suites: a fixed seed, so every run tries the same cases and
// a failure replays, and per-property run counts; FUZZ_SEED and FUZZ_RUNS override them for one run.
import { readTestkitEnv } from './config.js';

/** The seed every fuzzing suite uses unless FUZZ_SEED says otherwise. */
export const DEFAULT_FUZZ_SEED = 20_261_206;

export interface FuzzSettings {
  seed: number;
  /** Runs for a property whose default is `defaultRuns`. */
  runs(defaultRuns: number): number;
  /** True when FUZZ_RUNS replaced the defaults (the suites' case counts then differ from their names). */
  runsOverridden: boolean;
}

export function fuzzSettings(): FuzzSettings {
  const env = readTestkitEnv();
  const seed = env.fuzzSeed === undefined ? DEFAULT_FUZZ_SEED : Number(env.fuzzSeed);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${env.fuzzSeed}`);
  const override = env.fuzzRuns === undefined ? undefined : Number(env.fuzzRuns);
  if (override !== undefined && !(Number.isSafeInteger(override) && override > 0)) {
    throw new Error(`FUZZ_RUNS must be a positive integer, got ${env.fuzzRuns}`);
  }
  return {
    seed,
    runs: (defaultRuns) => override ?? defaultRuns,
    runsOverridden: override !== undefined,
  };
}
