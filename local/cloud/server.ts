import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as undiciRequest } from 'undici';
import type { ImageRef, OutcomeRuleInput, PushInput, PushResult, SyncTaskView, CreateCall } from './acr.ts';
import { handleAdmin } from './admin.ts';
import { Realism, type RealismMode } from './realism.ts';
import { addTrigger } from './alibaba-admin.ts';
import { createAlibabaService, type AlibabaService, type AlibabaServiceOptions } from './alibaba.ts';
import { createVirtualClock, type LocalVirtualClock } from './clock.ts';
import type { EcsTaskInput, EcsTaskView } from './ecs.ts';
import { createFcService, type FcService } from './fc.ts';
import { FaultRegistry, type FaultDecision } from './faults.ts';
import { createHuaweiService, type HuaweiService } from './huawei.ts';
import type { LocalService } from './local-service.ts';
import { handleRegistryAdmin } from './registry/admin.ts';
import type { NotifyEndpoint } from './registry/generic.ts';
import { type RegistryUrls, startLocalRegistries } from './registry/index.ts';
import { localCloudSeedSchema, type LocalCloudSeed, type LocalCloudSeedInput } from './seed.ts';
import type { CloudRequest, CloudResponse, Deliver, LocalCloudEnv } from './types.ts';

export interface StartLocalCloudOptions {
  /** 0 = a random free port (tests). Default: FERRY_CLOUD_PORT, else 8090. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  seed?: LocalCloudSeedInput;
  /** Virtual clock speed; default seed.speed. */
  speed?: number;
  /** Virtual time at start (ms since epoch); default now. */
  start?: number;
  /** A random source, or a number to seed a deterministic one. Default Math.random. */
  random?: (() => number) | number;
  /** One line per request (action, status, latency): true → stdout, or a function. */
  log?: boolean | ((line: string) => void);
  /** Outgoing webhook delivery (ACR triggers); default an undici POST with JSON. */
  deliver?: Deliver;
  alibaba?: AlibabaServiceOptions;
  /** Realism modes to start with (realism.ts): `all` or a list; default none. */
  realism?: 'all' | readonly RealismMode[];
  /** The registry endpoints (registry/): `ports` `seed` (default) uses the seed's fixed ports, `ephemeral` free ones. */
  registry?: {
    /** Blobs, manifests and upload sessions; resolved on first write. Default a temporary folder removed on close. */
    dataDir?: string | (() => string) | undefined;
    ports?: 'seed' | 'ephemeral' | undefined;
  };
}

/** Test helpers over the ACR state (sync tasks are shown with their status at the current virtual time). */
export interface AcrTestApi {
  tasks(filter?: { instanceId?: string; targetInstanceId?: string }): SyncTaskView[];
  task(syncTaskId: string): SyncTaskView | undefined;
  /** Every CreateRepoSyncTask call that created a task (the newest 10 × seed.keepFinishedTasks at least). */
  readonly createCalls: CreateCall[];
  /** Every tag DeleteRepoTag removed. */
  readonly deleteCalls: { instanceId: string; namespace: string; repo: string; tag: string }[];
  /** How many CreateRepoSyncTask calls created a task for this target (fields given must all match). */
  createCallCount(target?: Partial<ImageRef>): number;
  /** tag → digest of a repository (empty when it does not exist). */
  tagsOf(instanceId: string, namespace: string, repo: string): Record<string, string>;
  repoId(instanceId: string, namespace: string, repo: string): string | undefined;
  /** Like `POST /_local/acr/push`: creates the tag, delivers matching repository triggers. */
  push(input: PushInput): Promise<PushResult>;
  addTrigger(input: { instanceId: string; namespace: string; repo: string; url: string; type?: 'ALL' | 'TAG_LIST' | 'TAG_REG_EXP'; tag?: string; name?: string }): {
    triggerId: string;
    repoId: string;
  };
  /** The next `count` (default 1) matching sync tasks end in ERROR / stay SYNCHRONIZING. */
  addOutcome(rule: OutcomeRuleInput): string;
}

export interface EcsTestApi {
  createTask(input: EcsTaskInput): EcsTaskView;
  tasks(): EcsTaskView[];
  task(taskId: string): EcsTaskView | undefined;
}

export interface LocalCloud {
  url: string;
  port: number;
  host: string;
  clock: LocalVirtualClock;
  faults: FaultRegistry;
  services: { alibaba: AlibabaService; huawei: HuaweiService; fc: FcService };
  env: LocalCloudEnv;
  seed: LocalCloudSeed;
  acr: AcrTestApi;
  ecs: EcsTestApi;
  /** Base URLs (no `/v2`) of the registries: per ACR instance id, per SWR region, per plain registry name. */
  registries: RegistryUrls;
  /** Where a plain registry (seed `registry.generic`) sends push notifications. */
  notifyRegistry(name: string, endpoints: NotifyEndpoint[]): void;
  /** Every service back to its seed, registries emptied; faults cleared; the clock is kept. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8090;

/** mulberry32: a small seedable PRNG for deterministic tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const defaultDeliver: Deliver = async (url, body, headers = {}) => {
  const res = await undiciRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  return { status: res.statusCode };
};

function portFromEnv(): number {
  const raw = process.env.FERRY_CLOUD_PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`FERRY_CLOUD_PORT must be a port number (0-65535), got "${raw}"`);
  return n;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function toCloudRequest(req: IncomingMessage, body: Buffer, now: number): CloudRequest {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: q >= 0 ? raw.slice(0, q) : raw,
    query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : ''),
    headers,
    body,
    now,
  };
}

function send(res: ServerResponse, answer: CloudResponse): void {
  const headers: Record<string, string> = { ...(answer.headers ?? {}) };
  let payload: Buffer | string = '';
  const body = answer.body;
  if (Buffer.isBuffer(body) || typeof body === 'string') payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json;charset=utf-8';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(answer.status, headers);
  res.end(payload);
}

function malformedBody(): CloudResponse {
  // Starts like a real answer, then stops: not JSON at all.
  return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body: '{"RequestId":"0B1C2D3E-MALFORMED","Code":"succ' };
}

function sleepReal(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export async function startLocalCloud(opts: StartLocalCloudOptions = {}): Promise<LocalCloud> {
  const seed = localCloudSeedSchema.parse(opts.seed ?? {});
  const random = typeof opts.random === 'number' ? seededRandom(opts.random) : (opts.random ?? Math.random);
  const clock = createVirtualClock({ speed: opts.speed ?? seed.speed, ...(opts.start !== undefined ? { start: opts.start } : {}) });
  const realism = new Realism();
  if (opts.realism) realism.set(opts.realism);
  const env: LocalCloudEnv = { clock, seed, random, deliver: opts.deliver ?? defaultDeliver, realism };
  const faults = new FaultRegistry(random);
  const alibaba = createAlibabaService(env, opts.alibaba);
  const huawei = createHuaweiService(env);
  const fc = createFcService(env);
  // Alibaba owns only `/` with an Action/Version; the others own distinct path prefixes.
  const services: LocalService[] = [huawei, fc, alibaba];
  const log = opts.log === true ? (line: string) => console.log(line) : typeof opts.log === 'function' ? opts.log : undefined;

  const host = opts.host ?? '127.0.0.1';
  const registries = await startLocalRegistries({
    host,
    ports: opts.registry?.ports ?? 'seed',
    dataDir: opts.registry?.dataDir,
    env,
    alibaba,
    huawei,
    log,
  });
  const reset = () => {
    for (const s of services) s.reset();
    registries.reset();
    faults.clear();
  };
  const registryAdmin = (req: CloudRequest) => handleRegistryAdmin(req, { urls: registries.urls, acr: alibaba.acr, env, pushSample: registries.pushSample });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const body = await readBody(req);
    const creq = toCloudRequest(req, body, clock.now());
    let label = `${creq.method} ${creq.path}`;
    let decision: FaultDecision | undefined;
    let answer: CloudResponse;
    try {
      if (creq.path === '/_local' || creq.path.startsWith('/_local/')) {
        answer = await handleAdmin(creq, req.socket.remoteAddress, { clock, faults, services, reset, realism, registries: registryAdmin });
      } else {
        const service = services.find((s) => s.owns(creq));
        if (!service) {
          answer = { status: 404, body: { error: 'NotFound', message: `no emulated service answers ${creq.method} ${creq.path}` } };
        } else {
          const op = service.operation(creq);
          if (op) label = `${op.op}${op.scope ? ` [${op.scope}]` : ''}`;
          decision = op ? faults.decide(op.op, op.scope, service.caller?.(creq)) : undefined;
          await sleepReal(decision?.latencyMs ?? 0);
          const action = decision?.action;
          if (action && !decision?.after) {
            if (action.kind === 'drop') {
              req.socket.destroy();
              log?.(`[local-cloud] ${label} DROPPED ${Date.now() - started}ms (${decision!.ruleIds.join(',')})`);
              return;
            }
            answer = faultAnswer(service, creq, action);
          } else {
            answer = await service.handle(creq);
            if (action && decision?.after) {
              if (action.kind === 'drop') {
                req.socket.destroy();
                log?.(`[local-cloud] ${label} handled then DROPPED ${Date.now() - started}ms (${decision.ruleIds.join(',')})`);
                return;
              }
              answer = faultAnswer(service, creq, action);
            }
          }
        }
      }
    } catch (err) {
      log?.(`[local-cloud] ${label} crashed: ${err instanceof Error ? err.stack : String(err)}`);
      answer = { status: 500, body: { error: 'InternalError', message: err instanceof Error ? err.message : String(err) } };
    }
    send(res, answer);
    const faultNote = decision?.ruleIds.length ? ` (faults ${decision.ruleIds.join(',')})` : '';
    log?.(`[local-cloud] ${label} ${answer.status} ${Date.now() - started}ms${faultNote}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: 'InternalError', message: String(err) } });
    });
  });
  server.keepAliveTimeout = 5_000;
  const port = opts.port ?? portFromEnv();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await registries.close();
    throw err;
  }
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const acrState = alibaba.acr;
  const ecsState = alibaba.ecs;
  const acr: AcrTestApi = {
    tasks(filter = {}) {
      const now = clock.now();
      acrState.settle(now);
      return acrState.tasks
        .filter((t) => !filter.instanceId || t.source.instanceId === filter.instanceId)
        .filter((t) => !filter.targetInstanceId || t.target.instanceId === filter.targetInstanceId)
        .map((t) => acrState.view(t, now));
    },
    task(id) {
      return acr.tasks().find((t) => t.syncTaskId === id);
    },
    get createCalls() {
      return [...acrState.calls];
    },
    get deleteCalls() {
      return [...acrState.deleteCalls];
    },
    createCallCount(target = {}) {
      return acrState.calls.filter((c) => (Object.keys(target) as (keyof ImageRef)[]).every((k) => target[k] === undefined || c.target[k] === target[k])).length;
    },
    tagsOf(instanceId, namespace, repo) {
      acrState.settle(clock.now());
      const r = acrState.instances.get(instanceId)?.namespaces.get(namespace)?.get(repo);
      return r ? Object.fromEntries([...r.tags].map(([tag, t]) => [tag, t.digest])) : {};
    },
    repoId(instanceId, namespace, repo) {
      return acrState.instances.get(instanceId)?.namespaces.get(namespace)?.get(repo)?.repoId;
    },
    push: (input) => acrState.push(input),
    addTrigger: (input) => addTrigger(acrState, { ...input, now: clock.now() }),
    addOutcome: (rule) => acrState.addOutcome(rule),
  };
  const ecs: EcsTestApi = {
    createTask: (input) => ecsState.createTask(input),
    tasks: () => ecsState.tasks.map((t) => ecsState.view(t, clock.now())),
    task: (id) => ecs.tasks().find((t) => t.taskId === id),
  };

  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    host,
    clock,
    faults,
    services: { alibaba, huawei, fc },
    env,
    seed,
    acr,
    ecs,
    registries: registries.urls,
    notifyRegistry: (name, endpoints) => registries.notifyTo(name, endpoints),
    reset,
    close: async () => {
      await Promise.all([
        new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeAllConnections();
        }),
        registries.close(),
      ]);
    },
  };
}

function faultAnswer(service: LocalService, req: CloudRequest, action: NonNullable<FaultDecision['action']>): CloudResponse {
  switch (action.kind) {
    case 'throttle':
      return service.throttled(req, action.waitMs);
    case 'serverError':
      return service.serverError(req, action.status);
    case 'malformed':
      return malformedBody();
    case 'error':
      return service.errorResponse
        ? service.errorResponse(req, action.status, action.code, action.message)
        : { status: action.status, body: { code: action.code, message: action.message ?? action.code } };
    case 'drop':
      // handled by the caller (needs the socket)
      return { status: 500, body: {} };
  }
}
