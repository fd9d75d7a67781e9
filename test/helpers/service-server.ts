import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultSeed, localCloudSeedSchema, type LocalCloudSeedInput } from '../../local/cloud/seed.ts';
import type { CloudRequest, CloudResponse, EmulatedService, LocalCloudEnv, VirtualClock } from '../../local/cloud/types.ts';

/** A virtual clock that only moves when told to (speed is ignored). */
export function manualClock(start = Date.now()): VirtualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    setSpeed: () => {},
    sleep: async (ms) => {
      t += ms;
    },
  };
}

import { seededRandom } from '../../local/cloud/server.ts';
import { Realism } from '../../local/cloud/realism.ts';
export { seededRandom };

export function testEnv(seed: LocalCloudSeedInput = {}, clock = manualClock()): LocalCloudEnv {
  return {
    clock,
    seed: Object.keys(seed).length ? localCloudSeedSchema.parse(seed) : defaultSeed(),
    random: seededRandom(42),
    deliver: async () => ({ status: 200 }),
    realism: new Realism(),
  };
}

export interface HostedService {
  url: string;
  close(): Promise<void>;
}

type WithAdmin = EmulatedService & { admin?(req: CloudRequest): Promise<CloudResponse | null> };

/**
 * Hosts one EmulatedService on 127.0.0.1 the way the local cloud's server does: parse the
 * request into a CloudRequest, route `/_local/*` to `admin`, else `owns` → `handle`.
 */
export async function hostService(service: WithAdmin, clock: VirtualClock): Promise<HostedService> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = req.url ?? '/';
        const q = raw.indexOf('?');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        }
        const cloudReq: CloudRequest = {
          method: req.method ?? 'GET',
          path: q < 0 ? raw : raw.slice(0, q),
          query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
          headers,
          body: Buffer.concat(chunks),
          now: clock.now(),
        };
        let out: CloudResponse;
        try {
          if (cloudReq.path.startsWith('/_local/')) out = (await service.admin?.(cloudReq)) ?? { status: 404, body: { error: 'no admin route' } };
          else if (service.owns(cloudReq)) out = await service.handle(cloudReq);
          else out = { status: 404, body: { error: 'not owned' } };
        } catch (e) {
          out = { status: 500, body: { error: (e as Error).message } };
        }
        const h: Record<string, string> = { ...out.headers };
        let payload: Buffer | string = '';
        if (Buffer.isBuffer(out.body) || typeof out.body === 'string') payload = out.body;
        else if (out.body !== undefined) {
          payload = JSON.stringify(out.body);
          if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
        }
        res.writeHead(out.status, h);
        res.end(payload);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
