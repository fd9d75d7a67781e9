/**
 * The invocation context the FC handler factories (handler.ts) record on every invocation, so
 * long-lived clients always sign with the execution role's freshest STS credentials (FC rotates
 * them while an instance lives). The secrets are registered with the logger so no line shows them.
 */
import { registerSecret } from '../log.ts';
import type { InvocationContext, InvocationCredentials } from './context.ts';

let latest: InvocationCredentials | undefined;
let region: string | undefined;
let accountId: string | undefined;

/** Called by httpHandler / timerHandler on every invocation, before the app or job runs. */
export function rememberInvocation(ctx: InvocationContext): void {
  if (ctx.region) region = ctx.region;
  if (ctx.accountId) accountId = ctx.accountId;
  if (!ctx.credentials) return;
  latest = ctx.credentials;
  registerSecret(ctx.credentials.accessKeySecret);
  registerSecret(ctx.credentials.securityToken);
}

/** The execution role's current STS credentials (undefined outside FC / before the first invocation). */
export function currentCredentials(): InvocationCredentials | undefined {
  return latest;
}

/** The function's region, as FC's context says it (undefined outside FC / before the first invocation). */
export function currentRegion(): string | undefined {
  return region;
}

/** The account the function runs in, as FC's context says it (undefined outside FC / before the first invocation). */
export function currentAccountId(): string | undefined {
  return accountId;
}
