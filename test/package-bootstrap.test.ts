// shared/runtime/bootstrap.ts: what a deployed function checks before it serves anything.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDeployable, buildDeps, isLocalMode } from '../shared/runtime/bootstrap.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-bootstrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pg = { kind: 'postgres' as const, databaseUrl: 'postgres://x@127.0.0.1:1/db', retentionDays: 30 };
const lite = { kind: 'pglite' as const, dataDir: '.ferry', retentionDays: 30 };
const tokens = { webhookTokens: [{ token: 'w-token-1234' }], apiTokens: [{ name: 'op', token: 'a-token-1234', role: 'admin' as const }] };

describe('deployed functions refuse to start without tokens or PostgreSQL', () => {
  it('accepts a complete config', () => {
    expect(() => assertDeployable({ auth: tokens, store: pg }, {})).not.toThrow();
  });

  it('names every missing piece', () => {
    let msg = '';
    try {
      assertDeployable({ auth: { webhookTokens: [], apiTokens: [] }, store: lite }, { FC_FUNCTION_NAME: 'ferry-dev-webhook' });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('Ferry refuses to start outside local mode (FERRY_MODE=local)');
    expect(msg).toContain('auth.webhookTokens: is empty');
    expect(msg).toContain('auth.apiTokens: is empty');
    expect(msg).toContain('store: a deployed Ferry needs PostgreSQL: set DATABASE_URL');
  });

  it('FERRY_MODE=local lifts the checks (running a bundle against the local cloud)', () => {
    expect(isLocalMode({ FERRY_MODE: 'local' })).toBe(true);
    expect(isLocalMode({ FERRY_MODE: 'LOCAL' })).toBe(false);
    expect(() => assertDeployable({ auth: { webhookTokens: [], apiTokens: [] }, store: lite }, { FERRY_MODE: 'local' })).not.toThrow();
  });

  it('buildDeps fails before touching any database when the config has no tokens', async () => {
    writeFileSync(join(dir, 'ferry.config.yaml'), 'store:\n  databaseUrl: ${DATABASE_URL}\n');
    await expect(buildDeps({ FERRY_CONFIG: join(dir, 'ferry.config.yaml'), DATABASE_URL: 'postgres://u:p@127.0.0.1:1/none' })).rejects.toThrow(
      /auth\.webhookTokens: is empty[\s\S]*auth\.apiTokens: is empty/,
    );
  });
});
