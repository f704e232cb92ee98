// Validates an environment once against a zod schema and returns a frozen, typed config.
import type { z } from 'zod';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly canRetry = false;
  constructor(
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Fix the environment variables above (see the README, "Configuration") and start again.',
    );
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the keys the schema names from `source` (a service passes its environment), treating empty
 * strings as unset, and throws one ConfigError listing every problem rather than the first.
 */
export function loadConfig<S extends z.ZodObject>(
  service: string,
  schema: S,
  source: Env,
): Readonly<z.infer<S>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = typeof issue.path[0] === 'string' ? issue.path[0] : '(config)';
      const given = input[key];
      return given === undefined
        ? `${key}: ${issue.message}`
        : `${key}=${JSON.stringify(withoutPassword(given))}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return deepFreeze(parsed.data);
}

/** A URL's password (a SQL Server URL carries one) never reaches an error message or a log. */
function withoutPassword(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
