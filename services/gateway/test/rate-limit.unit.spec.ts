// Who a rate limit counts: client addresses (IPv6 by /64) and the gateway's limit and proxy settings.
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { clientSubject } from '../src/domain/rate-limit.js';

describe('clientSubject', () => {
  it.each([
    ['203.0.113.7', 'ip:203.0.113.7'],
    ['::ffff:203.0.113.7', 'ip:203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', 'ip6:2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:0:0:1', 'ip6:2001:db8:1:2::/64'],
    ['2001:db8::1', 'ip6:2001:db8:0:0::/64'],
    ['::1', 'ip6:0:0:0:0::/64'],
    ['fe80::1%eth0', 'ip6:fe80:0:0:0::/64'],
  ])('counts %s as %s', (address, subject) => {
    expect(clientSubject(address)).toBe(subject);
  });
});

describe('gateway security settings', () => {
  const base = { ADMIN_TOKEN: 'a-token-of-16-chars!', BUYER_TOKEN_SECRET: 'b'.repeat(32) };

  it('needs a buyer token secret of 32 characters or more', () => {
    expect(() => loadGatewayConfig({ ADMIN_TOKEN: base.ADMIN_TOKEN })).toThrow(/BUYER_TOKEN_SECRET/);
    expect(() => loadGatewayConfig({ ...base, BUYER_TOKEN_SECRET: 'b'.repeat(31) })).toThrow(
      /BUYER_TOKEN_SECRET.*at least 32/,
    );
  });

  it('accepts a skewed clock only in a test run', () => {
    expect(loadGatewayConfig(base).CLOCK_SKEW_MS).toBe(0);
    expect(() => loadGatewayConfig({ ...base, CLOCK_SKEW_MS: '4000' })).toThrow(
      /CLOCK_SKEW_MS.*NODE_ENV=test/,
    );
    expect(loadGatewayConfig({ ...base, CLOCK_SKEW_MS: '-4000', NODE_ENV: 'test' }).CLOCK_SKEW_MS).toBe(
      -4000,
    );
  });

  it('keeps demo mode off and X-Forwarded-For ignored unless told otherwise', () => {
    const config = loadGatewayConfig(base);
    expect([config.DEMO_MODE, config.TRUST_PROXY]).toEqual([false, false]);
    expect(loadGatewayConfig({ ...base, DEMO_MODE: 'true' }).DEMO_MODE).toBe(true);
    expect(() => loadGatewayConfig({ ...base, DEMO_MODE: 'maybe' })).toThrow(/DEMO_MODE/);
  });

  it('reads TRUST_PROXY as a flag, a hop count or a list of proxies', () => {
    const trust = (value: string) => loadGatewayConfig({ ...base, TRUST_PROXY: value }).TRUST_PROXY;
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.0.2.1')).toEqual(['10.0.0.0/8', '192.0.2.1']);
  });
});
