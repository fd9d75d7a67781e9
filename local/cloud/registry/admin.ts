import { swrLoginPassword } from '../../../shared/providers/swr/registry-login.ts';
import { adminError, adminJson, guarded, readJsonObject, str } from '../admin-util.ts';
import type { AcrState } from '../acr.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from '../types.ts';
import type { LocalRegistries, RegistryUrls } from './index.ts';

/**
 * `/_local/registries`: where the registries listen and how to log in to them.
 * - `GET  /_local/registries` → {acr: {<instanceId>: {url, region}}, swr: {<region>: {url, logins: [{username, password}]}},
 *   generic: {<name>: {url, username}}}
 * - `POST /_local/registries/acr/<instanceId>/login` → {username, password, expireTime}: what
 *   GetAuthorizationToken answers the instance's owner, without signing a request;
 *   `?format=creds` answers `username:password` as text (for `skopeo --creds "$(curl …)"`).
 * - `POST /_local/registries/{acr|swr|generic}/<key>/images` {repository, tag} → {repository, tag, digest, size}:
 *   a small random image written into that registry and announced as a push (sample-image.ts).
 */
export async function handleRegistryAdmin(req: CloudRequest, ctx: { urls: RegistryUrls; acr: AcrState; env: LocalCloudEnv; pushSample: LocalRegistries['pushSample'] }): Promise<CloudResponse | null> {
  const path = req.path.replace(/\/+$/, '');
  const sample = /^\/_local\/registries\/(acr|swr|generic)\/([^/]+)\/images$/.exec(path);
  if (sample) {
    if (req.method !== 'POST') return adminError(405, 'use POST');
    return guarded(async () => {
      const b = readJsonObject(req);
      const image = await ctx.pushSample(sample[1] as keyof RegistryUrls, decodeURIComponent(sample[2]!), str(b, 'repository', true), str(b, 'tag', true));
      return adminJson(200, { registry: ctx.urls[sample[1] as keyof RegistryUrls][decodeURIComponent(sample[2]!)], ...image });
    });
  }
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
      generic: Object.fromEntries(seed.registry.generic.map((g) => [g.name, { url: ctx.urls.generic[g.name], username: g.username }])),
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
