/**
 * Composition root for the deployed functions: builds the dependencies ONCE per FC instance
 * (first invocation), from the environment:
 *   FERRY_CONFIG   path of the operator config file; unset → ferry.config.{yaml,yml,json} in the
 *                  function's code root (the package ships that file next to dist/)
 *   DATABASE_URL   PostgreSQL ledger (or the config's store.databaseUrl). Required when deployed:
 *                  pglite is not shipped in the function bundles. May be `${kms:SECRET_NAME}`.
 * The config's `${kms:…}` secrets are read from KMS before anything is built (kms-secrets.ts): a
 * secret that cannot be read stops the start like an unset variable does, naming the secret.
 *   FERRY_DATA_DIR local mode without PostgreSQL: the data directory instead of store.dataDir; PGlite
 *                  keeps the ledger in <dir>/ledger, as `npm start` does, and locks it (one process).
 *   FERRY_MODE     `local` runs a function bundle outside Function Compute (against the local cloud):
 *                  then PGlite and a config without tokens are allowed. Anything else is "deployed".
 * A deployed function refuses to start (clear error, FC logs it, every invocation answers 503) when the
 * config has no webhook or API tokens, or no PostgreSQL ledger.
 * The STS credentials FC hands each invocation are remembered by the handler factories
 * (invocation.ts) so long-lived clients always sign with the freshest ones (they rotate while an
 * instance lives). The dependencies themselves are built by makeDeps (replicate/deps.ts).
 */
import type { FerryConfig } from '../config/index.ts';
import { loadResolvedConfig } from '../config/resolve.ts';
import { Ledger, ledgerDirOf } from '../ledger/index.ts';
import { systemClock, type Clock } from '../clock.ts';
import { createLogger, type Logger } from '../log.ts';
import { once } from './handler.ts';
import { currentCredentials, currentRegion } from './invocation.ts';
import { kmsSecretFetcher, type SecretCache } from './kms-secrets.ts';
import { makeDeps, type Deps } from '../replicate/deps.ts';

// The handler factories (handler.ts) record each invocation's context; the clients read it here.
export { currentCredentials } from './invocation.ts';

export async function buildDeps(env: NodeJS.ProcessEnv = process.env, options: { secrets?: SecretCache } = {}) {
  const log: Logger = createLogger({ service: 'ferry', fn: env.FC_FUNCTION_NAME });
  const clock: Clock = systemClock;
  const config = await loadResolvedConfig({ env }, (unresolved) => kmsSecretFetcher(unresolved, { env, runtimeCredentials: currentCredentials, runtimeRegion: currentRegion, cache: options.secrets }));
  assertDeployable(config, env);
  const store = config.store;
  // Opens pg (DATABASE_URL) or PGlite, applies pending migrations (advisory-locked, idempotent).
  const ledger = await Ledger.open({
    ...(store.kind === 'postgres' ? { databaseUrl: store.databaseUrl } : { dataDir: ledgerDirOf(env.FERRY_DATA_DIR || store.dataDir) }),
    now: () => clock.now(),
  });
  return makeDeps({ config, ledger, clock, log, invocationCredentials: currentCredentials, env });
}

export type { Deps };

export function isLocalMode(env: Record<string, string | undefined>): boolean {
  return env.FERRY_MODE === 'local';
}

/** The config checks a deployed function makes before it serves anything. Throws naming every problem. */
export function assertDeployable(config: Pick<FerryConfig, 'auth' | 'store'>, env: Record<string, string | undefined>): void {
  if (isLocalMode(env)) return;
  const problems: string[] = [];
  if (!config.auth.webhookTokens.length) problems.push('auth.webhookTokens: is empty; a deployed Ferry needs at least one webhook token (e.g. token: ${FERRY_WEBHOOK_TOKEN})');
  if (!config.auth.apiTokens.length) problems.push('auth.apiTokens: is empty; a deployed Ferry needs at least one API token (e.g. {name: operator, token: ${FERRY_API_TOKEN}, role: admin})');
  if (config.store.kind !== 'postgres') problems.push('store: a deployed Ferry needs PostgreSQL: set DATABASE_URL (or store.databaseUrl); the embedded PGlite ledger is for local runs only');
  if (problems.length) {
    throw new Error(`Ferry refuses to start outside local mode (FERRY_MODE=local):\n  ${problems.join('\n  ')}`);
  }
}

/** Per-instance singleton; a failed build is retried on the next invocation. */
export const getDeps = once(() => buildDeps());
