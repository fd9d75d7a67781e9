import { randomBytes } from 'node:crypto';

/**
 * ACR Enterprise's temporary registry credentials (GetAuthorizationToken): the user is always
 * `cr_temp_user`, the password a token valid for one hour of virtual time, for one instance.
 */
export const ACR_TEMP_USERNAME = 'cr_temp_user';
export const ACR_TOKEN_TTL_MS = 3600 * 1000;

interface TempCredential {
  instanceId: string;
  accountId: string;
  expiresAt: number;
}

export class AcrTempCredentials {
  private readonly tokens = new Map<string, TempCredential>();

  issue(instanceId: string, accountId: string, now: number): { TempUsername: string; AuthorizationToken: string; ExpireTime: number } {
    const token = `cr_temp_${randomBytes(32).toString('base64url')}`;
    const expiresAt = now + ACR_TOKEN_TTL_MS;
    this.tokens.set(token, { instanceId, accountId, expiresAt });
    for (const [k, c] of this.tokens) if (c.expiresAt <= now) this.tokens.delete(k);
    return { TempUsername: ACR_TEMP_USERNAME, AuthorizationToken: token, ExpireTime: expiresAt };
  }

  /** The owner account when these are live credentials of this instance, else null. */
  verify(instanceId: string, username: string, password: string, now: number): string | null {
    if (username !== ACR_TEMP_USERNAME) return null;
    const c = this.tokens.get(password);
    return c && c.instanceId === instanceId && c.expiresAt > now ? c.accountId : null;
  }

  clear(): void {
    this.tokens.clear();
  }
}
