/**
 * PGlite's memory (shared/ledger/pglite-init.ts): the ledger runs with 16 MB of shared buffers, and a
 * new data directory is created by a child process, so the opening process never holds initdb's
 * ~800 MiB peak (in-process, ~650 MiB of it stays resident after the open).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../shared/ledger/db.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-pglite-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function peakMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

describe('PGlite ledger memory', () => {
  it('creates a new data directory without initdb in this process, and runs with small shared buffers', async () => {
    const before = peakMiB();
    const db = await openDb({ dataDir: join(dir, 'fresh') });
    try {
      const grew = peakMiB() - before;
      // In-process initdb raises this process's peak by ~700 MiB; opening an existing directory by ~100-150 MiB.
      expect(grew).toBeLessThan(350);
      const { rows } = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
      expect(rows[0]!.shared_buffers).toBe('16MB');
      await db.exec('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
    } finally {
      await db.close();
    }
    const again = await openDb({ dataDir: join(dir, 'fresh') });
    try {
      expect((await again.query<{ n: number }>('SELECT n FROM kept')).rows).toEqual([{ n: 7 }]);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('uses the same settings in memory', async () => {
    const db = await openDb({ memory: true });
    try {
      expect((await db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers).toBe('16MB');
    } finally {
      await db.close();
    }
  }, 120_000);
});
