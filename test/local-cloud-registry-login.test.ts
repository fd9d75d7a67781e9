/**
 * The shipped logins the copy engine uses: SWR's AK/SK-derived login (a fixed vector computed
 * with `printf AK | openssl dgst -sha256 -hmac SK`) and ACR's GetAuthorizationToken login, which
 * renews ahead of ExpireTime; both accepted by the local cloud's registries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcrClient, type AcrAuthorizationToken } from '../shared/clients/acr.ts';
import { acrRegistryLogin, acrRegistryUrl } from '../shared/providers/acr/registry-login.ts';
import { swrLoginPassword, swrRegistryLogin, swrRegistryUrl } from '../shared/providers/swr/registry-login.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import type { RegistryCredentials } from '../shared/copy/types.ts';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, speed: 1e-6, registry: { ports: 'ephemeral' } });
});
afterAll(() => cloud?.close());

/** Asks the registry's realm for a pull token with these credentials; the HTTP status. */
async function realmStatus(base: string, creds: RegistryCredentials): Promise<number> {
  const challenge = (await fetch(`${base}/v2/`)).headers.get('www-authenticate') ?? '';
  const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
  const service = /service="([^"]+)"/.exec(challenge)![1]!;
  const res = await fetch(`${realm}?service=${encodeURIComponent(service)}&scope=repository:team/app:pull`, {
    headers: { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` },
  });
  return res.status;
}

describe('SWR registry login', () => {
  it('password = lowercase hex HMAC-SHA256 keyed with the SK over the AK (openssl vectors)', () => {
    expect(swrLoginPassword('HWLOCALFERRYAK', 'local-ferry-sk')).toBe('8b3d9379d99a05a796a1fcda86f8945c7360820dc88933b4dcb70786e9cccd85');
    expect(swrLoginPassword('QTWAOYTTINDUT2QVKYUC', 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc')).toBe('89aca1198a970e4360203d71cdaa80cfc13ecd55ee84409719e88162d139ef34');
  });

  it('logs in as <region>@<AK>, without expiry, and the region registry accepts it', async () => {
    const creds = await swrRegistryLogin('cn-north-4', 'HWLOCALFERRYAK', 'local-ferry-sk')();
    expect(creds).toEqual({ username: 'cn-north-4@HWLOCALFERRYAK', password: '8b3d9379d99a05a796a1fcda86f8945c7360820dc88933b4dcb70786e9cccd85' });
    expect(await realmStatus(cloud.registries.swr['cn-north-4']!, creds!)).toBe(200);
    expect(await realmStatus(cloud.registries.swr['cn-east-3']!, creds!)).toBe(401);
  });

  it('default registry URLs', () => {
    expect(swrRegistryUrl('cn-north-4')).toBe('https://swr.cn-north-4.myhuaweicloud.com');
    expect(acrRegistryUrl('myreg', 'cn-hangzhou')).toBe('https://myreg-registry.cn-hangzhou.cr.aliyuncs.com');
  });
});

describe('ACR registry login', () => {
  it('gets temporary credentials from GetAuthorizationToken that the instance registry accepts, expiring before ExpireTime', async () => {
    const client = new AcrClient({ regionId: 'cn-hangzhou', endpoint: cloud.url, credentials: () => ({ accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' }) });
    const before = cloud.clock.now();
    const creds = await acrRegistryLogin(client, 'cri-localsrc001', { now: () => cloud.clock.now() })();
    expect(creds?.username).toBe('cr_temp_user');
    expect(creds?.expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 5 * 60_000);
    expect(creds?.expiresAt).toBeLessThan(before + 3600_000);
    expect(await realmStatus(cloud.registries.acr['cri-localsrc001']!, creds!)).toBe(200);
  });

  it('asks again on every call (a refused login gets fresh credentials), sharing one request between concurrent calls', async () => {
    let calls = 0;
    const source = {
      async getAuthorizationToken(): Promise<AcrAuthorizationToken> {
        calls++;
        await new Promise((r) => setTimeout(r, 10));
        return { tempUsername: 'cr_temp_user', authorizationToken: `token-${calls}`, expireTime: 1_700_000_000_000 + 3600_000 };
      },
    };
    const login = acrRegistryLogin(source, 'cri-x', { now: () => 1_700_000_000_000, renewBeforeMs: 60_000 });
    const [a, b] = await Promise.all([login(), login()]);
    expect(calls).toBe(1);
    expect(a).toEqual({ username: 'cr_temp_user', password: 'token-1', expiresAt: 1_700_000_000_000 + 3600_000 - 60_000 });
    expect(b).toBe(a);
    expect((await login())?.password).toBe('token-2');
  });

  it('reads ExpireTime tolerantly: seconds as seconds, absent as a short lifetime, short lifetimes renewed halfway', async () => {
    const with_ = (expireTime: number | undefined) =>
      acrRegistryLogin({ getAuthorizationToken: async () => ({ tempUsername: 'u', authorizationToken: 'p', expireTime }) }, 'cri-x', { now: () => 1_700_000_000_000 })();
    expect((await with_(1_700_003_600))?.expiresAt).toBe(1_700_003_600_000 - 300_000);
    expect((await with_(undefined))?.expiresAt).toBe(1_700_000_000_000 + 600_000 - 300_000);
    expect((await with_(1_700_000_000_000 + 120_000))?.expiresAt).toBe(1_700_000_000_000 + 60_000);
  });
});
