import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlibabaService } from '../alibaba.ts';
import type { HuaweiService } from '../huawei.ts';
import type { LocalCloudEnv } from '../types.ts';
import { acrRegistry, type CloudRegistry, swrRegistry } from './clouds.ts';
import { genericRegistry, type NotifyEndpoint } from './generic.ts';
import { type SampleImage, writeSampleImage } from './sample-image.ts';
import { type RegistryServer, startRegistryServer } from './server.ts';
import { RegistryStorage } from './storage.ts';

/** The local cloud's registries: one per ACR instance and one per SWR region, each on its own port. */
export interface RegistryUrls {
  acr: Record<string, string>;
  swr: Record<string, string>;
  /** Plain registries (seed `registry.generic`), by name. */
  generic: Record<string, string>;
}

export interface LocalRegistriesOptions {
  host: string;
  /** `seed`: the seed's `registry.ports` (others free ports); `ephemeral`: free ports for all. */
  ports: 'seed' | 'ephemeral';
  /** Where blobs and uploads go: resolved on first write. Default a temporary folder, removed on close. */
  dataDir?: string | (() => string) | undefined;
  env: LocalCloudEnv;
  alibaba: AlibabaService;
  huawei: HuaweiService;
  log?: ((line: string) => void) | undefined;
}

export interface LocalRegistries {
  urls: RegistryUrls;
  servers: Map<string, RegistryServer>;
  /** Writes a small random image into one registry and announces it as a push (sample-image.ts). */
  pushSample(kind: keyof RegistryUrls, key: string, repository: string, tag: string): Promise<SampleImage>;
  /** Where a plain registry sends its push notifications (its `notifications.endpoints`). */
  notifyTo(name: string, endpoints: NotifyEndpoint[]): void;
  /** Forgets every registry's content (the local cloud's reset). */
  reset(): void;
  close(): Promise<void>;
}

export async function startLocalRegistries(opts: LocalRegistriesOptions): Promise<LocalRegistries> {
  const { seed } = opts.env;
  let temp: string | undefined;
  const given = opts.dataDir;
  const dataDir = typeof given === 'function' ? given : given !== undefined ? () => given : () => (temp ??= mkdtempSync(join(tmpdir(), 'ferry-registry-')));
  const wanted: { kind: keyof RegistryUrls; key: string; port: number | undefined; registry: CloudRegistry }[] = [
    ...seed.alibaba.instances.map((i) => ({
      kind: 'acr' as const,
      key: i.instanceId,
      port: seed.registry.ports.acr[i.instanceId],
      registry: acrRegistry(opts.alibaba.acr, opts.env, i.instanceId, i.region, opts.log),
    })),
    ...seed.huawei.regions.map((r) => ({ kind: 'swr' as const, key: r, port: seed.registry.ports.swr[r], registry: swrRegistry(opts.huawei, opts.env, r) })),
    ...seed.registry.generic.map((g) => ({
      kind: 'generic' as const,
      key: g.name,
      port: seed.registry.ports.generic[g.name],
      registry: genericRegistry(
        g,
        opts.env,
        () => notify.get(g.name) ?? [],
        () => new URL(urls.generic[g.name] ?? 'http://127.0.0.1').host,
        opts.log,
      ),
    })),
  ];
  const notify = new Map<string, NotifyEndpoint[]>();
  const urls: RegistryUrls = { acr: {}, swr: {}, generic: {} };
  const servers = new Map<string, RegistryServer>();
  const policies = new Map(wanted.map((w) => [`${w.kind}:${w.key}`, w.registry.policy]));
  const close = async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    if (temp) rmSync(temp, { recursive: true, force: true });
  };
  try {
    for (const w of wanted) {
      const server = await startRegistryServer({
        host: opts.host,
        port: opts.ports === 'seed' ? (w.port ?? 0) : 0,
        storage: new RegistryStorage(() => join(dataDir(), ...w.registry.dir)),
        auth: w.registry.auth,
        policy: w.registry.policy,
        log: opts.log,
        label: w.registry.label,
      });
      servers.set(`${w.kind}:${w.key}`, server);
      urls[w.kind][w.key] = server.url;
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    urls,
    servers,
    pushSample(kind, key, repository, tag) {
      const server = servers.get(`${kind}:${key}`);
      const policy = policies.get(`${kind}:${key}`);
      if (!server || !policy) return Promise.reject(new Error(`no ${kind} registry "${key}" (known: ${Object.keys(urls[kind]).join(', ') || 'none'})`));
      return writeSampleImage(server.storage, policy, repository, tag);
    },
    notifyTo(name, endpoints) {
      if (!(name in urls.generic)) throw new Error(`no plain registry "${name}" (seeded: ${Object.keys(urls.generic).join(', ') || 'none'})`);
      notify.set(name, endpoints);
    },
    reset() {
      for (const s of servers.values()) s.reset();
    },
    close,
  };
}
