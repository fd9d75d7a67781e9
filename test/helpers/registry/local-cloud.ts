/**
 * The local cloud's registries as the copy engine sees them, each with its cloud's own login: ACR
 * cri-localsrc001 (GetAuthorizationToken with the seeded AccessKey), SWR cn-north-4 (the AK/SK login),
 * beside a CNCF distribution registry (anonymous) for a registry without the referrers API.
 */
import { startLocalCloud, type LocalCloud } from '../../../local/cloud/server.ts';
import { AcrClient } from '../../../shared/clients/acr.ts';
import type { RegistryEndpoint } from '../../../shared/copy/index.ts';
import { acrRegistryLogin } from '../../../shared/providers/acr/registry-login.ts';
import { swrRegistryLogin } from '../../../shared/providers/swr/registry-login.ts';
import { type Registry, startRegistry } from './registry.ts';

export interface CloudRegistries {
  cloud: LocalCloud;
  acr: RegistryEndpoint;
  swr: RegistryEndpoint;
  plain: Registry;
  plainEndpoint: RegistryEndpoint;
}

export async function startCloudRegistries(): Promise<CloudRegistries> {
  const cloud = await startLocalCloud({ port: 0, speed: 1, registry: { ports: 'ephemeral' } });
  const acrClient = new AcrClient({
    regionId: 'cn-hangzhou',
    endpoint: cloud.url,
    credentials: () => ({ accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' }),
  });
  const plain = await startRegistry();
  return {
    cloud,
    acr: { url: cloud.registries.acr['cri-localsrc001']!, name: 'acr-hangzhou', login: acrRegistryLogin(acrClient, 'cri-localsrc001') },
    swr: { url: cloud.registries.swr['cn-north-4']!, name: 'swr-beijing', login: swrRegistryLogin('cn-north-4', 'HWLOCALFERRYAK', 'local-ferry-sk') },
    plain,
    plainEndpoint: { url: plain.url, name: 'distribution', login: async () => null },
  };
}
