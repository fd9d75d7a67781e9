/**
 * The banner's "watch the replication" commands name the variable the config reads the admin token
 * from: an operator's own token is never printed, and `$FERRY_API_TOKEN` is only right when the
 * config says `${FERRY_API_TOKEN}`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBanner } from '../local/stack/banner.ts';
import { readEnvFile } from '../local/stack/env.ts';
import { EXAMPLE_CONFIG, EXAMPLE_ENV, type FerryApps, startLocalStack } from '../local/stack/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-banner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const apps: FerryApps = {
  createWebhookApp: () => async () => Response.json({ accepted: true }, { status: 202 }),
  createApiApp: () => async () => Response.json({ ok: true }),
  runSweep: async () => ({ claimed: 0 }),
};

async function bannerFor(tokenRef: string, env: Record<string, string>): Promise<string> {
  const file = join(dir, `ferry-${Math.random().toString(36).slice(2)}.yaml`);
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
  expect(text).toContain('token: ${FERRY_API_TOKEN}');
  writeFileSync(file, text.replace('token: ${FERRY_API_TOKEN}', `token: ${tokenRef}`));
  const devEnv = readEnvFile(EXAMPLE_ENV);
  let banner = '';
  const stack = await startLocalStack({
    env: { ...devEnv, ...env, FERRY_CONFIG: file, PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: join(dir, 'data'), FERRY_SWEEP_INTERVAL: '10s', FERRY_LOCAL_CLOUD_URL: '' },
    apps,
    print: (t) => (banner += t),
  });
  await stack.close();
  return banner;
}

describe('banner: the admin token variable', () => {
  it('suggests the variable the config names, never its value', async () => {
    const banner = await bannerFor('${OPS_ADMIN_TOKEN}', { OPS_ADMIN_TOKEN: 'ops-admin-token-not-to-print-4c1e' });
    expect(banner).toContain('FERRY_API_TOKEN=$OPS_ADMIN_TOKEN npx ferry tasks');
    expect(banner).toContain('authorization: Bearer $OPS_ADMIN_TOKEN');
    expect(banner).not.toContain('$FERRY_API_TOKEN');
    expect(banner).not.toContain('ops-admin-token-not-to-print-4c1e');
  }, 30_000);

  it('with the token from KMS there is no variable to suggest: a placeholder, not a wrong name', () => {
    const text = formatBanner({
      apiUrl: 'http://127.0.0.1:8080',
      cloudUrl: 'http://127.0.0.1:8090',
      ledger: 'PGlite',
      sweepIntervalMs: 10_000,
      configFile: 'ferry.config.yaml',
      example: false,
      tokens: [{ label: 'ops (admin)', token: 'secret-from-kms', printable: false, role: 'admin' }],
      triggers: [],
      push: undefined,
    });
    expect(text).toContain('FERRY_API_TOKEN=<api token> npx ferry tasks');
    expect(text).not.toContain('secret-from-kms');
    expect(text).not.toContain('$FERRY_API_TOKEN');
  });
});
