/**
 * A Ferry process for the SIGKILL scenario: the webhook app plus a sweep loop, against a local cloud
 * and a PostgreSQL ledger that live OUTSIDE this process, so both survive when it is killed.
 * Env: CHAOS_CLOUD_URL, CHAOS_TARGETS (JSON list of cri-… in cn-shanghai), DATABASE_URL, CHAOS_SCHEMA.
 */
import { parseConfig } from '../../shared/config/index.ts';
import { systemClock } from '../../shared/clock.ts';
import { Ledger } from '../../shared/ledger/index.ts';
import { createLogger } from '../../shared/log.ts';
import { makeDeps } from '../../shared/replicate/deps.ts';
import { serveNode } from '../../shared/runtime/node-http.ts';
import { runSweep } from '../../shared/sweep/run.ts';
import { createWebhookApp } from '../../shared/webhook/app.ts';
import { TEST_ENV, baseConfig } from '../helpers/stack.ts';

const env = process.env;
const targets = JSON.parse(env.CHAOS_TARGETS ?? '[]') as string[];
const raw = baseConfig(env.CHAOS_CLOUD_URL!);
const config = parseConfig(
  {
    ...raw,
    rules: (raw.rules as Record<string, unknown>[]).map((r) => (r.name === 'releases' ? { ...r, targets: targets.map((instanceId) => ({ provider: 'acr', instanceId, region: 'cn-shanghai' })) } : r)),
    sweep: { graceSeconds: 1, budgetMs: 20_000, batchSize: 100 },
    defaults: { maxAttempts: 5, backoff: { initialSeconds: 1, maxSeconds: 2, multiplier: 2 }, deadlineMinutes: 60, retryOnTimeout: true },
  },
  TEST_ENV,
);
const ledger = await Ledger.open({ databaseUrl: env.DATABASE_URL!, searchPath: env.CHAOS_SCHEMA! });
const deps = makeDeps({ config, ledger, clock: systemClock, log: createLogger({ pid: process.pid }, 'error'), workerId: `child-${process.pid}` });
const server = await serveNode(createWebhookApp(deps), { port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${server.url}\n`);
let running = false;
setInterval(() => {
  if (running) return;
  running = true;
  runSweep(deps)
    .catch(() => {})
    .finally(() => (running = false));
}, 150);
