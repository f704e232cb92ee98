import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../src/index.js';

const schema = z.object({
  KAFKA_BROKERS: env.brokers(),
  REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss']),
  PORT: env.port(3000),
  DEMO: env.bool(false),
  LOG_LEVEL: env.logLevel(),
  ADMIN_TOKEN: env.secret(),
});

describe('loadConfig', () => {
  it('applies defaults, parses values and freezes the result', () => {
    const config = loadConfig('svc', schema, { ADMIN_TOKEN: 'x'.repeat(16), DEMO: 'yes', PORT: '' });
    expect(config).toEqual({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      DEMO: true,
      LOG_LEVEL: 'info',
      ADMIN_TOKEN: 'x'.repeat(16),
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.KAFKA_BROKERS)).toBe(true);
  });

  it('splits a broker list', () => {
    const config = loadConfig('svc', schema, { ADMIN_TOKEN: 'x'.repeat(16), KAFKA_BROKERS: 'a:1, b:2' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  it('reports every problem at once, naming the variable and the value given', () => {
    let error: unknown;
    try {
      loadConfig('gateway', schema, { KAFKA_BROKERS: 'nohost', REDIS_URL: 'http://x', PORT: '70000' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/KAFKA_BROKERS="nohost"/);
    expect(problems.join('\n')).toMatch(
      /REDIS_URL="http:\/\/x": must be a URL with protocol redis or rediss/,
    );
    expect(problems.join('\n')).toMatch(/PORT="70000"/);
    expect(problems.join('\n')).toMatch(/ADMIN_TOKEN/);
    expect((error as ConfigError).message).toMatch(/^gateway: invalid configuration/);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
  });
});
