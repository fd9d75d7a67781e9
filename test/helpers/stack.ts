/**
 * A whole Ferry stack in one test process: the local cloud on a random loopback port,
 * an in-memory PGlite ledger, a config pointing at both, and the Deps every app takes.
 * Ferry's clock is the local cloud's virtual clock, so `stack.cloud.clock.advance(ms)`
 * moves deadlines and backoff for both sides at once.
 */
import { parseConfig, type FerryConfig } from '../../shared/config/index.ts';
import { type Db, Ledger, openLedgerDb } from '../../shared/ledger/index.ts';
import { startLocalCloud, type LocalCloud, type StartLocalCloudOptions } from '../../local/cloud/server.ts';
import { createLogger } from '../../shared/log.ts';
import { makeDeps, type Deps } from '../../shared/replicate/deps.ts';
import { AcrClients } from '../../shared/providers/acr/clients.ts';
import { SwrClients } from '../../shared/providers/swr/clients.ts';
import { EcsClients } from '../../shared/ecs/clients.ts';
import type { Clock } from '../../shared/clock.ts';
import { resetAccountLimiters } from '../../shared/clients/transport.ts';

export const TEST_TOKENS = {
  webhook: 'test-webhook-token-0123456789',
  admin: 'test-admin-token-0123456789',
  read: 'test-read-token-0123456789',
} as const;

export function baseConfig(cloudUrl: string): Record<string, unknown> {
  return {
    sources: [
      { kind: 'acr', name: 'acr-hangzhou', instanceId: 'cri-localsrc001', region: 'cn-hangzhou' },
      { kind: 'swr', name: 'swr-beijing', region: 'cn-north-4', namespaces: ['team'] },
    ],
    rules: [
      {
        name: 'releases',
        source: 'acr-hangzhou',
        namespace: 'team',
        repository: '**',
        tags: { include: ['v*'], exclude: ['*-rc*'] },
        targets: [
          { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' },
          { provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing', override: true },
        ],
      },
      { name: 'swr-north-to-east', source: 'swr-beijing', targets: [{ provider: 'swr', remoteRegion: 'cn-east-3', remoteNamespace: '{namespace}' }] },
    ],
    defaults: { maxAttempts: 3, backoff: { initialSeconds: 30, maxSeconds: 900, multiplier: 2 }, deadlineMinutes: 60, retryOnTimeout: true },
    auth: {
      webhookTokens: ['${FERRY_WEBHOOK_TOKEN}'],
      apiTokens: [
        { name: 'operator', token: '${FERRY_API_TOKEN}', role: 'admin' },
        { name: 'dashboard', token: '${FERRY_API_READ_TOKEN}', role: 'read' },
      ],
    },
    clouds: {
      alibaba: { accessKeyId: '${ALIBABA_CLOUD_ACCESS_KEY_ID}', accessKeySecret: '${ALIBABA_CLOUD_ACCESS_KEY_SECRET}', endpoint: cloudUrl },
      huawei: { user: 'ferry', password: '${HUAWEI_IAM_PASSWORD}', domain: 'ferry-local', endpoints: { swr: cloudUrl, iam: cloudUrl } },
    },
    webhook: { submitBudgetMs: 3000 },
    sweep: { graceSeconds: 60, budgetMs: 20000, batchSize: 50 },
  };
}

export const TEST_ENV: Record<string, string> = {
  FERRY_WEBHOOK_TOKEN: TEST_TOKENS.webhook,
  FERRY_API_TOKEN: TEST_TOKENS.admin,
  FERRY_API_READ_TOKEN: TEST_TOKENS.read,
  ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tLocalFerryKey',
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'local-ferry-secret',
  HUAWEI_IAM_PASSWORD: 'local-ferry-password',
};

export interface TestStack {
  cloud: LocalCloud;
  config: FerryConfig;
  ledger: Ledger;
  /** The ledger's database, for tests that check rows with SQL (Ferry's code goes through `ledger`). */
  db: Db;
  deps: Deps;
  clock: Clock;
  env: Record<string, string>;
  /** Ferry's own clients on the local cloud, to arrange cloud state directly. */
  clients: { acr: AcrClients; swr: SwrClients; ecs: EcsClients };
  close(): Promise<void>;
}

export interface TestStackOptions {
  /** Change the base config (receives it, returns the one to use). */
  config?: (base: Record<string, unknown>) => Record<string, unknown>;
  env?: Record<string, string>;
  cloud?: StartLocalCloudOptions;
  /** Ledger on PostgreSQL instead of in-memory PGlite. */
  databaseUrl?: string;
  /** PGlite in this directory (as `npm start` runs it) instead of in memory. */
  pgliteDir?: string;
  /** PostgreSQL schema to work in (created by the caller), so runs don't share tables. */
  searchPath?: string;
  workerId?: string;
}

export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  resetAccountLimiters();
  const cloud = await startLocalCloud({ port: 0, log: false, random: 42, ...opts.cloud });
  const clock: Clock = { now: () => cloud.clock.now(), sleep: (ms) => cloud.clock.sleep(ms) };
  const env = { ...TEST_ENV, ...opts.env };
  const raw = baseConfig(cloud.url);
  const config = parseConfig(auditOffUnlessAsked(opts.config ? opts.config(raw) : raw), env);
  const db = await openLedgerDb(
    opts.databaseUrl ? { databaseUrl: opts.databaseUrl, ...(opts.searchPath ? { searchPath: opts.searchPath } : {}) } : opts.pgliteDir ? { dataDir: opts.pgliteDir } : { memory: true },
  );
  const ledger = new Ledger(db, { now: () => clock.now() });
  const deps = makeDeps({ config, ledger, clock, log: createLogger({ test: true }, 'error'), env, workerId: opts.workerId ?? 'test-worker', random: () => 0.5 });
  const connect = { config, clock, env };
  return {
    cloud,
    config,
    ledger,
    db,
    deps,
    clock,
    env,
    clients: { acr: new AcrClients(connect), swr: new SwrClients(connect), ecs: new EcsClients(connect) },
    async close() {
      await ledger.close().catch(() => {});
      await cloud.close();
    },
  };
}

/**
 * Tests count every cloud call and task a sweep makes: the drift audit (on by default) runs only in
 * tests whose rules ask for it (`audit: { every: … }`).
 */
function auditOffUnlessAsked(config: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(config.rules)) return config;
  return { ...config, rules: config.rules.map((r: unknown) => (r && typeof r === 'object' && !('audit' in r) ? { ...r, audit: false } : r)) };
}
