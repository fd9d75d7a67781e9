/** Logging in to an ACR Enterprise instance's registry with GetAuthorizationToken's temporary credentials, for the copy engine. */
import type { AcrAuthorizationToken } from '../../clients/acr.ts';
import type { Login } from '../../copy/types.ts';

/** The instance's public registry, e.g. `https://myreg-registry.cn-hangzhou.cr.aliyuncs.com`. */
export function acrRegistryUrl(instanceName: string, region: string): string {
  return `https://${instanceName}-registry.${region}.cr.aliyuncs.com`;
}

/** What the login needs of the ACR client (an `AcrClient` of the instance's region). */
export interface AuthorizationTokenSource {
  getAuthorizationToken(instanceId: string): Promise<AcrAuthorizationToken>;
}

export interface AcrRegistryLoginOptions {
  /** Ask again this long before ExpireTime (default 5 minutes): a copy must not start a request with credentials about to lapse. */
  renewBeforeMs?: number | undefined;
  /** Epoch-ms clock (default Date.now). */
  now?: (() => number) | undefined;
}

/** When an answer lacks a readable ExpireTime: shorter than the documented hour, as STS-bound tokens may be. */
const ASSUMED_LIFETIME_MS = 10 * 60 * 1000;

/**
 * A `Login` that asks GetAuthorizationToken each time it is called; calls made while one request
 * is out share it. The engine keeps credentials until `expiresAt`, ExpireTime minus
 * `renewBeforeMs` (at most half the lifetime), so it renews them ahead of ExpireTime, and a refused login gets fresh ones.
 */
export function acrRegistryLogin(client: AuthorizationTokenSource, instanceId: string, opts: AcrRegistryLoginOptions = {}): Login {
  const renewBeforeMs = opts.renewBeforeMs ?? 5 * 60 * 1000;
  const now = opts.now ?? Date.now;
  let inFlight: ReturnType<Login> | undefined;
  return () => {
    inFlight ??= (async () => {
      try {
        const asked = now();
        const t = await client.getAuthorizationToken(instanceId);
        const expireTime = expireTimeMs(t.expireTime) ?? asked + ASSUMED_LIFETIME_MS;
        // A lifetime shorter than twice the margin is renewed halfway, never at once.
        const margin = Math.min(renewBeforeMs, Math.max(0, expireTime - asked) / 2);
        return { username: t.tempUsername, password: t.authorizationToken, expiresAt: expireTime - margin };
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
}

/** ExpireTime is documented in ms; a value that can only be seconds is read as seconds. */
function expireTimeMs(value: number | undefined): number | undefined {
  if (value === undefined || !Number.isFinite(value) || value <= 0) return undefined;
  return value < 1e11 ? value * 1000 : value;
}
