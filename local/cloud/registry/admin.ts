import { swrLoginPassword } from '../../../shared/providers/swr/registry-login.ts';
import { adminError, adminJson } from '../admin-util.ts';
import type { AcrState } from '../acr.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from '../types.ts';
import type { RegistryUrls } from './index.ts';

/**
 * `/_local/registries`: where the registries listen and how to log in to them.
 * - `GET  /_local/registries` → {acr: {<instanceId>: {url, region}}, swr: {<region>: {url, logins: [{username, password}]}}}
 * - `POST /_local/registries/acr/<instanceId>/login` → {username, password, expireTime}: what
 *   GetAuthorizationToken answers the instance's owner, without signing a request;
 *   `?format=creds` answers `username:password` as text (for `skopeo --creds "$(curl …)"`).
 */
export function handleRegistryAdmin(req: CloudRequest, ctx: { urls: RegistryUrls; acr: AcrState; env: LocalCloudEnv }): CloudResponse | null {
  const path = req.path.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/_local/registries') {
    const { seed } = ctx.env;
    return adminJson(200, {
      acr: Object.fromEntries(Object.entries(ctx.urls.acr).map(([id, url]) => [id, { url, region: ctx.acr.instances.get(id)?.region }])),
      swr: Object.fromEntries(
        Object.entries(ctx.urls.swr).map(([region, url]) => [
          region,
          { url, logins: seed.huawei.credentials.map((c) => ({ username: `${region}@${c.accessKey}`, password: swrLoginPassword(c.accessKey, c.secretKey) })) },
        ]),
      ),
    });
  }
  const login = /^\/_local\/registries\/acr\/([^/]+)\/login$/.exec(path);
  if (!login) return null;
  if (req.method !== 'POST') return adminError(405, 'use POST');
  const instance = ctx.acr.instances.get(decodeURIComponent(login[1]!));
  if (!instance) return adminError(404, `no ACR instance ${login[1]}`);
  const c = ctx.acr.registryCredentials.issue(instance.instanceId, instance.accountId, req.now);
  if (req.query.get('format') === 'creds') return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${c.TempUsername}:${c.AuthorizationToken}` };
  return adminJson(200, { username: c.TempUsername, password: c.AuthorizationToken, expireTime: c.ExpireTime });
}
