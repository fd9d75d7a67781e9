import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { LocalCloudEnv } from '../types.ts';
import type { CloudRegistry } from './clouds.ts';

/**
 * A plain registry as CNCF distribution runs it (not a cloud's): one seeded user behind the token
 * flow, any `<name>` accepted, and a push notification per tagged manifest POSTed to the endpoints
 * set with `notifyTo` — the `notifications.endpoints` of distribution's config, in the envelope it
 * sends (`application/vnd.docker.distribution.events.v1+json`). `npm start` points it at Ferry's
 * `/webhooks/distribution`, so a push with any client replicates the way a self-hosted registry would.
 */
export interface GenericRegistrySeed {
  name: string;
  username: string;
  password: string;
}

export interface NotifyEndpoint {
  url: string;
  headers: Record<string, string>;
}

export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function genericRegistry(seed: GenericRegistrySeed, env: LocalCloudEnv, endpoints: () => readonly NotifyEndpoint[], host: () => string, log?: (line: string) => void): CloudRegistry {
  return {
    label: `registry ${seed.name}`,
    dir: ['generic', seed.name],
    auth: {
      realmPath: '/auth/token',
      service: `local-registry-${seed.name}`,
      verify: (username, password) => (username === seed.username && same(password, seed.password) ? username : null),
      tokenTtlMs: 300_000,
      now: () => env.clock.now(),
    },
    policy: {
      pushRefusal: () => null,
      onTag(name, tag, digest, size) {
        const event = {
          id: randomUUID(),
          timestamp: new Date(env.clock.now()).toISOString(),
          action: 'push',
          target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size, digest, length: size, repository: name, url: `http://${host()}/v2/${name}/manifests/${digest}`, tag },
          request: { id: randomUUID(), addr: '127.0.0.1', host: host(), method: 'PUT', useragent: 'ferry-local-cloud' },
          actor: { name: seed.username },
          source: { addr: host(), instanceID: `local-${seed.name}` },
        };
        for (const e of endpoints()) {
          fetch(e.url, { method: 'POST', headers: { 'content-type': EVENTS_MEDIA_TYPE, ...e.headers }, body: JSON.stringify({ events: [event] }) })
            .then(async (r) => {
              await r.body?.cancel();
              log?.(`[registry ${seed.name}] notified ${new URL(e.url).pathname} of ${name}:${tag}: ${r.status}`);
            })
            .catch((err: unknown) => log?.(`[registry ${seed.name}] notifying ${new URL(e.url).pathname} failed: ${String(err)}`));
        }
      },
    },
  };
}
