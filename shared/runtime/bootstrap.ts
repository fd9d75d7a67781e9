/**
 * Composition root for the deployed functions: builds the dependencies ONCE per FC instance
 * (first invocation), from the environment:
 *   FERRY_CONFIG   path of the operator config file; unset → ferry.config.{yaml,yml,json} in the
 *                  function's code root (the package ships that file next to dist/)
 *   DATABASE_URL   PostgreSQL ledger; when unset the ledger falls back to PGlite (local only —
 *                  pglite is not shipped in the function bundles).
 * The STS credentials FC hands each invocation are remembered so long-lived clients always
 * sign with the freshest ones (they rotate while an instance lives).
 *
 * NOTE: depends on modules owned by others (shared/config, shared/ledger); see the names below.
 */
import { loadConfig } from '../config/index.ts';
import { Ledger } from '../ledger/index.ts';
import { systemClock, type Clock } from '../clock.ts';
import { createLogger, registerSecret, type Logger } from '../log.ts';
import type { InvocationContext, InvocationCredentials } from './context.ts';
import { once } from './handler.ts';

let latest: InvocationCredentials | undefined;

/** Called by the function entries on every invocation. */
export function rememberInvocation(ctx: InvocationContext): void {
  if (!ctx.credentials) return;
  latest = ctx.credentials;
  registerSecret(ctx.credentials.accessKeySecret);
  registerSecret(ctx.credentials.securityToken);
}

/** The execution role's current STS credentials (undefined outside FC / before the first invocation). */
export function currentCredentials(): InvocationCredentials | undefined {
  return latest;
}

export async function buildDeps(env: NodeJS.ProcessEnv = process.env) {
  const log: Logger = createLogger({ service: 'ferry', fn: env.FC_FUNCTION_NAME });
  const clock: Clock = systemClock;
  const config = loadConfig({ env });
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl) registerSecret(databaseUrl);
  // Opens pg (DATABASE_URL) or PGlite, applies pending migrations (advisory-locked, idempotent).
  const ledger = await Ledger.open({ ...(databaseUrl ? { databaseUrl } : {}), now: () => clock.now() });
  return { config, ledger, clock, log, credentials: currentCredentials, env };
}

export type Deps = Awaited<ReturnType<typeof buildDeps>>;

/** Per-instance singleton; a failed build is retried on the next invocation. */
export const getDeps = once(() => buildDeps());
