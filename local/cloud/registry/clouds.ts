import { timingSafeEqual } from 'node:crypto';
import { acrNamespace, acrRepository, swrNamespace, swrRepository } from '../../../shared/rules/naming.ts';
import { swrLoginPassword } from '../../../shared/providers/swr/registry-login.ts';
import type { AcrState } from '../acr.ts';
import type { HuaweiService } from '../huawei.ts';
import type { LocalCloudEnv } from '../types.ts';
import type { RegistryAuthConfig } from './auth.ts';
import type { RegistryPolicy } from './http.ts';

/**
 * How each cloud's registry authenticates and where it takes pushes, as the real ones do:
 * - ACR EE (one registry per instance): GetAuthorizationToken's `cr_temp_user` + token; realm `/auth`
 *   and service `registry.aliyuncs.com:<region>:china:<instanceId>` (the real realm is
 *   dockerauth.<region>.aliyuncs.com/auth; here it is on the registry's own port).
 * - SWR (one registry per region): `<region>@<AK>` + hex HMAC-SHA256(SK, AK) for a seeded AK/SK; realm
 *   `/swr/auth/v2/registry/auth/`, service `dockyard`, tokens valid 900 s.
 * Both: `<namespace>/<repository>`; the namespace (ACR namespace, SWR organization) must exist,
 * repositories are created by the first push (both clouds do so by default). A tag pushed is
 * recorded in the cloud's API state: ACR fires the repository's triggers, SWR starts its
 * automatic sync jobs.
 */
export interface CloudRegistry {
  label: string;
  /** Folder under the registry data directory. */
  dir: string[];
  auth: RegistryAuthConfig;
  policy: RegistryPolicy;
}

const BEARER_TTL_MS = 900 * 1000;

function splitName(name: string): { namespace: string; repo: string } | null {
  const slash = name.indexOf('/');
  return slash < 0 ? null : { namespace: name.slice(0, slash), repo: name.slice(slash + 1) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function acrRegistry(acr: AcrState, env: LocalCloudEnv, instanceId: string, region: string, log?: (line: string) => void): CloudRegistry {
  return {
    label: `acr ${instanceId}`,
    dir: ['acr', instanceId],
    auth: {
      realmPath: '/auth',
      service: `registry.aliyuncs.com:${region}:china:${instanceId}`,
      verify: (username, password) => acr.registryCredentials.verify(instanceId, username, password, env.clock.now()),
      tokenTtlMs: BEARER_TTL_MS,
      now: () => env.clock.now(),
    },
    policy: {
      pushRefusal(name) {
        const parts = splitName(name);
        if (!parts) return `"${name}" is not <namespace>/<repository>`;
        const problem = acrNamespace(parts.namespace) ?? acrRepository(parts.repo);
        if (problem) return `"${name}": ${problem}`;
        if (!acr.instances.get(instanceId)?.namespaces.has(parts.namespace)) return `namespace "${parts.namespace}" does not exist in instance ${instanceId}`;
        return null;
      },
      onTag(name, tag, digest, size) {
        const { namespace, repo } = splitName(name)!;
        acr.push({ instanceId, namespace, repo, tag, digest, size }).catch((err: unknown) => log?.(`[registry acr ${instanceId}] recording ${name}:${tag} failed: ${String(err)}`));
      },
    },
  };
}

export function swrRegistry(huawei: HuaweiService, env: LocalCloudEnv, region: string): CloudRegistry {
  return {
    label: `swr ${region}`,
    dir: ['swr', region],
    auth: {
      realmPath: '/swr/auth/v2/registry/auth/',
      service: 'dockyard',
      verify(username, password) {
        const at = username.indexOf('@');
        if (at < 0 || username.slice(0, at) !== region) return null;
        const accessKey = username.slice(at + 1);
        const credential = env.seed.huawei.credentials.find((c) => c.accessKey === accessKey);
        return credential && safeEqual(password, swrLoginPassword(credential.accessKey, credential.secretKey)) ? username : null;
      },
      tokenTtlMs: BEARER_TTL_MS,
      now: () => env.clock.now(),
    },
    policy: {
      pushRefusal(name) {
        const parts = splitName(name);
        if (!parts) return `"${name}" is not <organization>/<repository>`;
        const problem = swrNamespace(parts.namespace) ?? swrRepository(parts.repo);
        if (problem) return `"${name}": ${problem}`;
        if (!huawei.hasNamespace(region, parts.namespace)) return `organization "${parts.namespace}" does not exist in ${region}`;
        return null;
      },
      onTag(name, tag, digest) {
        const { namespace, repo } = splitName(name)!;
        huawei.pushImage({ region, namespace, repo, tag }, digest);
      },
    },
  };
}
