import { describe, expect, it } from 'vitest';
import { listMigrations } from '../src/index.js';

describe('listMigrations', () => {
  it.each(['postgres', 'mssql'] as const)('lists %s migrations in order with checksums', (dialect) => {
    const migrations = listMigrations(dialect);
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    for (const m of migrations) expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the two dialects at the same versions', () => {
    const names = (d: 'postgres' | 'mssql') => listMigrations(d).map((m) => `${m.version}_${m.name}`);
    expect(names('mssql')).toEqual(names('postgres'));
  });
});
