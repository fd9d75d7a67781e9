/**
 * "Drivers" for the fidelity suite: every way of talking to the local cloud that must
 * behave the same — Ferry's own clients (V3 and V1 signing; IAM token and AK/SK) and the
 * official SDKs (@alicloud/pop-core V1, @alicloud/openapi-client V3, the generated
 * @alicloud/ecs20140526 client, huaweicloud-sdk-core's signer + undici) — behind one small
 * interface, so one scenario list runs against all.
 */
import { createRequire } from 'node:module';
import { request } from 'undici';
import { z } from 'zod';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import type { Clock } from '../../shared/clock.ts';
import { AcrClient } from '../../shared/clients/acr.ts';
import { staticCredentials } from '../../shared/clients/credentials.ts';
import { EcsClient } from '../../shared/clients/ecs.ts';
import { CloudError } from '../../shared/clients/errors.ts';
import { IamTokenProvider } from '../../shared/clients/huawei-iam.ts';
import { SwrClient } from '../../shared/clients/swr.ts';
import { AccountLimiter } from '../../shared/clients/transport.ts';
import { startLocalCloud, type LocalCloud } from '../../local/cloud/server.ts';
import type { LocalCloudSeedInput } from '../../local/cloud/seed.ts';

const require = createRequire(import.meta.url);

// Seed defaults (local/cloud/seed.ts).
export const ALI_KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
export const HW_USER = { user: 'ferry', password: 'local-ferry-password', domain: 'ferry-local' };
export const HW_AKSK = { accessKey: 'HWLOCALFERRYAK', secretKey: 'local-ferry-sk' };

/** What a cloud said when it refused a call, whoever made the call. */
export class DriverError extends Error {
  constructor(
    /** HTTP status; undefined when the request was never sent (client-side validation). */
    readonly status: number | undefined,
    readonly code: string,
    message: string,
    /** Response headers, when the driver can see them. */
    readonly headers: Record<string, string> | undefined,
    /** The driver's own error object (a CloudError for Ferry's clients). */
    readonly original: unknown,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

/** Ferry's CloudError message is `<provider> <action>: <code>: <cloud message>[ (see <url>)]`: keep the cloud's part. */
function cloudMessageOf(err: CloudError): string {
  const prefix = `${err.provider}${err.action ? ' ' + err.action : ''}: ${err.code}: `;
  const m = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return m.replace(/ \(see https?:\/\/[^)]*\)$/, '');
}

function fromCloudError(err: unknown): never {
  if (err instanceof CloudError) throw new DriverError(err.status, err.code, cloudMessageOf(err), undefined, err);
  throw err;
}

// ---------------------------------------------------------------- local cloud with a request log

export interface CountingCloud {
  cloud: LocalCloud;
  /** Requests that reached the cloud for an operation (`acr:GetRepoSyncTask`, `iam:tokens`, `swr:sync_repo:list`…). */
  requests(op: string): number;
  /** Forget the request log (between tests). */
  clearRequests(): void;
  /**
   * A Ferry clock on the cloud's virtual time whose sleep jumps virtual time forward
   * instead of waiting: retries honour server waits exactly, and take no real time.
   */
  clock: Clock;
}

export async function startCountingCloud(seed: LocalCloudSeedInput): Promise<CountingCloud> {
  const lines: string[] = [];
  const cloud = await startLocalCloud({ port: 0, seed, random: 11, log: (line) => lines.push(line) });
  return {
    cloud,
    requests: (op) => lines.filter((l) => l.startsWith(`[local-cloud] ${op} `)).length,
    clearRequests: () => {
      lines.length = 0;
    },
    clock: {
      now: () => cloud.clock.now(),
      sleep: async (ms) => {
        cloud.clock.advance(ms);
      },
    },
  };
}

// ---------------------------------------------------------------- Alibaba RPC drivers

export type AlibabaProduct = 'acr' | 'ecs';
const VERSIONS: Record<AlibabaProduct, string> = { acr: '2018-12-01', ecs: '2014-05-26' };

export interface RpcResult {
  status: number;
  body: Record<string, any>;
}

export interface AlibabaDriver {
  name: string;
  kind: 'ferry' | 'sdk';
  signature: 'v1' | 'v3';
  /** Whether the driver retries throttling / 5xx by itself (Ferry's clients do; the SDKs, as configured, do not). */
  retries: boolean;
  /** One RPC call with exactly these parameters; a refusal throws DriverError. */
  call(product: AlibabaProduct, action: string, params: Record<string, string | number | boolean>): Promise<RpcResult>;
  /** Ferry's typed clients (Ferry drivers only). */
  ferry?: { acr: AcrClient; ecs: EcsClient };
}

export interface AlibabaDriverFactory {
  name: string;
  make(cc: CountingCloud): AlibabaDriver;
}

function ferryAlibaba(signature: 'v1' | 'v3'): AlibabaDriverFactory {
  const name = `Ferry AcrClient/EcsClient (${signature.toUpperCase()})`;
  return {
    name,
    make(cc) {
      const common = {
        regionId: 'cn-hangzhou',
        endpoint: cc.cloud.url,
        credentials: staticCredentials(ALI_KEY),
        signatureVersion: signature,
        clock: cc.clock,
        // Own limiter: the process-wide one would pace this file's many calls at 20/s.
        limiter: new AccountLimiter({ maxConcurrent: 8, ratePerSecond: 10_000, burst: 10_000 }),
        // No jitter: a retry waits exactly what the server asked (or nothing).
        retry: { random: () => 0 },
      };
      const acr = new AcrClient(common);
      const ecs = new EcsClient(common);
      return {
        name,
        kind: 'ferry',
        signature,
        retries: true,
        ferry: { acr, ecs },
        async call(product, action, params) {
          const rpc = product === 'acr' ? acr.rpc : ecs.rpc;
          try {
            return { status: 200, body: await rpc.call(action, params, z.looseObject({})) };
          } catch (err) {
            fromCloudError(err);
          }
        },
      };
    },
  };
}

type PopClient = { request(action: string, params?: Record<string, unknown>, opts?: Record<string, unknown>): Promise<Record<string, any>> };

const popCore: AlibabaDriverFactory = {
  name: '@alicloud/pop-core RPCClient (V1)',
  make(cc) {
    const RPCClient = require('@alicloud/pop-core') as new (config: Record<string, unknown>) => PopClient;
    const clients: Record<AlibabaProduct, PopClient> = {
      acr: new RPCClient({ ...ALI_KEY, endpoint: cc.cloud.url, apiVersion: VERSIONS.acr }),
      ecs: new RPCClient({ ...ALI_KEY, endpoint: cc.cloud.url, apiVersion: VERSIONS.ecs }),
    };
    return {
      name: this.name,
      kind: 'sdk',
      signature: 'v1',
      retries: false,
      async call(product, action, params) {
        try {
          return { status: 200, body: await clients[product].request(action, params, { method: 'POST' }) };
        } catch (err: any) {
          if (!err?.data) throw err;
          const res = err.entry?.response ?? {};
          throw new DriverError(res.statusCode, err.data.Code, err.data.Message, res.headers, err);
        }
      },
    };
  },
};

/**
 * The SDKs put the status and body of a refusal on the error but not the response headers; to see
 * them (x-ratelimit-user-api) we watch their runtime's doAction, the one function through which
 * the SDK sends, for the duration of one call.
 */
type SdkRuntime = { doAction: (req: unknown, runtime: unknown) => Promise<{ headers: Record<string, string> }> };
/** @alicloud/openapi-client's. */
const tea = require('@alicloud/tea-typescript') as SdkRuntime;
/** @alicloud/openapi-core's (the generated SDKs'): `@darabonba/typescript` re-exports it from here by a live binding. */
const dara = require('@darabonba/typescript/dist/core.js') as SdkRuntime;

async function withResponseHeaders<T>(runtime: SdkRuntime, fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; headers: Record<string, string> | undefined }> {
  const original = runtime.doAction;
  let headers: Record<string, string> | undefined;
  runtime.doAction = async (req, options) => {
    const res = await original(req, options);
    headers = res.headers;
    return res;
  };
  try {
    return { result: await fn(), headers };
  } catch (error) {
    return { error, headers };
  } finally {
    runtime.doAction = original;
  }
}

const openApi: AlibabaDriverFactory = {
  name: '@alicloud/openapi-client callApi (V3)',
  make(cc) {
    const OpenApi = require('@alicloud/openapi-client');
    const TeaUtil = require('@alicloud/tea-util');
    const client = new OpenApi.default(new OpenApi.Config({ ...ALI_KEY, endpoint: `127.0.0.1:${cc.cloud.port}`, protocol: 'http' }));
    return {
      name: this.name,
      kind: 'sdk',
      signature: 'v3',
      retries: false,
      async call(product, action, params) {
        const p = new OpenApi.Params({ action, version: VERSIONS[product], protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', bodyType: 'json', reqBodyType: 'formData' });
        const query = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
        const { result, error, headers } = await withResponseHeaders(tea, () => client.callApi(p, new OpenApi.OpenApiRequest({ query }), new TeaUtil.RuntimeOptions({})));
        if (error === undefined) {
          const res = result as { statusCode: number; body: Record<string, any> };
          return { status: res.statusCode, body: res.body };
        }
        const e = error as any;
        if (!e?.data) throw e;
        throw new DriverError(e.data.statusCode, e.data.Code, e.data.Message, headers, e);
      },
    };
  },
};

type SdkRequestClass = (new (map: Record<string, unknown>) => unknown) & { names(): Record<string, string>; types(): Record<string, unknown> };

/** Wire parameters → the generated request model's fields; a parameter the model lacks is an error of the scenario. */
function sdkRequest(Request: SdkRequestClass, params: Record<string, string | number | boolean>): unknown {
  const fieldOf = Object.fromEntries(Object.entries(Request.names()).map(([field, wire]) => [wire, field]));
  const types = Request.types();
  const map: Record<string, unknown> = {};
  for (const [wire, value] of Object.entries(params)) {
    const field = fieldOf[wire];
    if (!field) throw new Error(`${Request.name} has no field ${wire}`);
    map[field] = types[field] === 'number' ? Number(value) : String(value);
  }
  return new Request(map);
}

/** The generated ECS client (@alicloud/ecs20140526 on @alicloud/openapi-core) on the local cloud, and the raw answer of its last call. */
export function generatedEcs(cloud: LocalCloud) {
  const Ecs = require('@alicloud/ecs20140526');
  const { $OpenApiUtil } = require('@alicloud/openapi-core');
  const client = new Ecs.default(new $OpenApiUtil.Config({ ...ALI_KEY, endpoint: `127.0.0.1:${cloud.port}`, protocol: 'http', regionId: 'cn-hangzhou' }));
  const callApi = client.callApi.bind(client);
  let raw: { statusCode: number; headers: Record<string, string>; body: Record<string, any> } | undefined;
  // The typed methods cast the answer into their models; the raw one keeps the wire names.
  client.callApi = async (...args: unknown[]) => (raw = await callApi(...args));
  return { Ecs, OpenApiUtil: $OpenApiUtil, client, raw: () => raw! };
}

/**
 * The generated ECS client, V3: its typed methods, with requests built from its models, for the
 * ECS operations Ferry uses; the same client's callApi for anything else (ACR has no installable
 * generated client).
 */
const ecsGenerated: AlibabaDriverFactory = {
  name: '@alicloud/ecs20140526 generated client (V3)',
  make(cc) {
    const { Ecs, OpenApiUtil, client, raw } = generatedEcs(cc.cloud);
    const typed: Record<string, [SdkRequestClass, string]> = {
      DescribeTasks: [Ecs.DescribeTasksRequest, 'describeTasks'],
      DescribeTaskAttribute: [Ecs.DescribeTaskAttributeRequest, 'describeTaskAttribute'],
      CancelTask: [Ecs.CancelTaskRequest, 'cancelTask'],
    };
    return {
      name: this.name,
      kind: 'sdk',
      signature: 'v3',
      retries: false,
      async call(product, action, params) {
        const method = product === 'ecs' ? typed[action] : undefined;
        const send = method
          ? () => client[method[1]](sdkRequest(method[0], params))
          : () => {
              const p = new OpenApiUtil.Params({
                action,
                version: VERSIONS[product],
                protocol: 'HTTP',
                pathname: '/',
                method: 'POST',
                authType: 'AK',
                style: 'RPC',
                bodyType: 'json',
                reqBodyType: 'formData',
              });
              const query = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
              return client.callApi(p, new OpenApiUtil.OpenApiRequest({ query }), {});
            };
        const { error, headers } = await withResponseHeaders(dara, send);
        if (error === undefined) return { status: raw().statusCode, body: raw().body };
        const e = error as any;
        if (!e?.data) throw e;
        throw new DriverError(e.statusCode, e.code, e.data.Message ?? e.data.message, headers, e);
      },
    };
  },
};

export const alibabaDrivers: AlibabaDriverFactory[] = [ferryAlibaba('v3'), ferryAlibaba('v1'), popCore, openApi, ecsGenerated];

// ---------------------------------------------------------------- Huawei SWR drivers

export interface SwrTarget {
  remoteRegionId: string;
  remoteNamespace: string;
}

export interface SwrJobsPage {
  jobs: Array<{ id: number; tag: string; status: string }>;
  total: number | null;
  /** The raw `Content-Range` header, when the driver sees headers. */
  contentRange?: string | undefined;
}

export interface SwrDriver {
  name: string;
  kind: 'ferry' | 'sdk';
  auth: 'token' | 'aksk';
  /** Whether a bad organization/repository name is refused before sending. */
  validatesNames: boolean;
  createSyncRepo(namespace: string, repo: string, body: SwrTarget & { syncAuto?: boolean; override?: boolean }): Promise<void>;
  listSyncRepos(namespace: string, repo: string): Promise<Array<Record<string, any>>>;
  deleteSyncRepo(namespace: string, repo: string, body: SwrTarget): Promise<void>;
  syncImages(namespace: string, repo: string, body: SwrTarget & { imageTag: string[]; override?: boolean }): Promise<string[]>;
  listSyncJobs(namespace: string, repo: string, page: { limit: number; offset: number; order: 'asc' | 'desc' }): Promise<SwrJobsPage>;
  /** Ferry token driver only: the provider, to look at its cache. */
  iam?: IamTokenProvider;
}

export interface SwrDriverFactory {
  name: string;
  /** `iamClock`: what the IAM token provider believes the time is (default the cloud's). */
  make(cc: CountingCloud, opts?: { iamClock?: Clock }): SwrDriver;
}

function ferrySwr(auth: 'token' | 'aksk'): SwrDriverFactory {
  const name = `Ferry SwrClient (${auth === 'token' ? 'IAM token' : 'AK/SK'})`;
  return {
    name,
    make(cc, opts = {}) {
      const iam =
        auth === 'token'
          ? new IamTokenProvider({ region: 'cn-north-4', ...HW_USER, endpoint: cc.cloud.url, refreshMarginMs: 0, clock: opts.iamClock ?? cc.clock, retry: { random: () => 0 } })
          : undefined;
      const client = new SwrClient({
        region: 'cn-north-4',
        endpoint: cc.cloud.url,
        auth: iam ? { kind: 'token', iam } : { kind: 'aksk', ...HW_AKSK },
        clock: cc.clock,
        limiter: new AccountLimiter({ maxConcurrent: 8, ratePerSecond: 10_000, burst: 10_000 }),
        retry: { random: () => 0 },
      });
      const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          return fromCloudError(err);
        }
      };
      return {
        name,
        kind: 'ferry',
        auth,
        validatesNames: true,
        ...(iam ? { iam } : {}),
        createSyncRepo: (namespace, repository, body) => guard(() => client.createSyncRepo({ namespace, repository, ...body })),
        listSyncRepos: (namespace, repository) => guard(() => client.listSyncRepos({ namespace, repository })) as Promise<Array<Record<string, any>>>,
        deleteSyncRepo: (namespace, repository, body) => guard(() => client.deleteSyncRepo({ namespace, repository, ...body })),
        syncImages: (namespace, repository, body) => guard(async () => (await client.syncImages({ namespace, repository, ...body })).failedTags),
        listSyncJobs: (namespace, repository, page) => guard(() => client.listSyncJobs({ namespace, repository, ...page })),
      };
    },
  };
}

/** An SWR refusal read from the wire, whichever body shape it came in: `[{…}]`, `{errors:[{…}]}` or `{error_code, error_msg}`. */
export function swrDriverError(status: number, headers: Record<string, string>, body: any): DriverError {
  const e = Array.isArray(body) ? body[0] : Array.isArray(body?.errors) ? body.errors[0] : body;
  return new DriverError(status, e?.errorCode ?? e?.error_code ?? `HTTP${status}`, e?.errorMessage ?? e?.error_msg ?? '', headers, body);
}

/** The official signer (huaweicloud-sdk-core AKSKSigner) + undici: what an SDK user's request looks like on the wire. */
const huaweiSdk: SwrDriverFactory = {
  name: 'huaweicloud-sdk-core AKSKSigner + undici (AK/SK)',
  make(cc) {
    const credential = new BasicCredentials().withAk(HW_AKSK.accessKey).withSk(HW_AKSK.secretKey);
    async function send(method: string, path: string, opts: { query?: Record<string, string>; data?: unknown } = {}) {
      const signed = AKSKSigner.sign(
        { endpoint: cc.cloud.url + path, method, headers: { 'content-type': 'application/json' }, queryParams: opts.query ?? {}, data: opts.data } as never,
        credential,
      ) as Record<string, string>;
      const qs = new URLSearchParams(opts.query ?? {}).toString();
      const res = await request(cc.cloud.url + path + (qs ? `?${qs}` : ''), {
        method: method as 'GET',
        headers: signed,
        body: opts.data === undefined ? undefined : JSON.stringify(opts.data),
      });
      const text = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
      const body = text ? JSON.parse(text) : undefined;
      if (res.statusCode >= 300) throw swrDriverError(res.statusCode, headers, body);
      return { headers, body };
    }
    const path = (ns: string, repo: string, leaf: string) => `/v2/manage/namespaces/${ns}/repos/${repo.replaceAll('/', '$')}/${leaf}`;
    return {
      name: this.name,
      kind: 'sdk',
      auth: 'aksk',
      validatesNames: false,
      async createSyncRepo(ns, repo, body) {
        await send('POST', path(ns, repo, 'sync_repo'), { data: { syncAuto: false, override: false, ...body } });
      },
      async listSyncRepos(ns, repo) {
        return (await send('GET', path(ns, repo, 'sync_repo'))).body;
      },
      async deleteSyncRepo(ns, repo, body) {
        await send('DELETE', path(ns, repo, 'sync_repo'), { data: body });
      },
      async syncImages(ns, repo, body) {
        return (await send('POST', path(ns, repo, 'sync_images'), { data: { override: false, ...body } })).body;
      },
      async listSyncJobs(ns, repo, page) {
        const r = await send('GET', path(ns, repo, 'sync_job'), { query: { filter: `limit::${page.limit}|offset::${page.offset}|order::${page.order}` } });
        const m = /^(\d+)-(\d+)\/(\d+)$/.exec(r.headers['content-range'] ?? '');
        return { jobs: r.body, total: m ? Number(m[3]) : null, contentRange: r.headers['content-range'] };
      },
    };
  },
};

export const swrDrivers: SwrDriverFactory[] = [ferrySwr('token'), ferrySwr('aksk'), huaweiSdk];
