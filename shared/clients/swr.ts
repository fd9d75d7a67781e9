/** Huawei SWR Basic image synchronization (`/v2/manage/...`), AK/SK-signed or with an IAM token. */
import type { Dispatcher } from 'undici';
import * as z from '../zod.ts';
import { systemClock, type Clock } from '../clock.ts';
import { registerSecret } from '../log.ts';
import * as naming from '../rules/naming.ts';
import type { HuaweiAkSk } from './credentials.ts';
import { CloudError, CloudMalformedResponseError, CloudNotFoundError, type CloudErrorInit } from './errors.ts';
import { mapHuaweiError } from './huawei-errors.ts';
import type { IamTokenProvider } from './huawei-iam.ts';
import { canonicalQuery } from './signing/encode.ts';
import { huaweiAuthorization, huaweiSignature, sdkDate } from './signing/huawei.ts';
import { type AccountLimiter, defaultRetryPolicy, getAccountLimiter, sendHttp, withRetry, type HttpResponse, type RetryPolicy } from './transport.ts';
import { checkInput, checkOutput, checkRecords, named, regionId } from './validation.ts';

export type SwrAuth = ({ kind: 'aksk' } & HuaweiAkSk & { projectId?: string | undefined }) | { kind: 'token'; iam: IamTokenProvider };

export interface SwrClientOptions {
  region: string;
  /** Default `https://swr-api.<region>.myhuaweicloud.com` (`.eu` for eu-west-101). */
  endpoint?: string | undefined;
  auth: SwrAuth;
  retry?: Partial<RetryPolicy> | undefined;
  limiter?: AccountLimiter | undefined;
  /** Limiter key; default `huawei:<AK>` or `huawei:<IAM domain>`. */
  accountKey?: string | undefined;
  clock?: Clock | undefined;
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
}

/**
 * An automatic sync task as Ferry reads it: the remote it syncs to. The other fields SWR declares
 * (id, syncAuto, override, createdAt…) pass through unchecked; SWR may leave them out.
 */
export interface SwrSyncRepo {
  remoteRegionId: string;
  remoteNamespace: string;
  [field: string]: unknown;
}

/**
 * A sync job record as Ferry reads it. `status` is SWR's own word, including ones Ferry does not
 * know; `createdAt` is left out when missing or not a time. Other fields pass through unchecked.
 */
export interface SwrSyncJob {
  id: number;
  tag: string;
  status: string;
  remoteRegionId: string;
  remoteNamespace: string;
  createdAt?: string | undefined;
  [field: string]: unknown;
}

export function defaultSwrEndpoint(region: string): string {
  return region === 'eu-west-101' ? 'https://swr-api.eu-west-101.myhuaweicloud.eu' : `https://swr-api.${region}.myhuaweicloud.com`;
}

/** SWR wants every `/` of a repository name as `$` in the path. */
export function swrRepoPathSegment(repository: string): string {
  return repository.replaceAll('/', '$');
}

const time = z.pipe(
  z.optional(z.unknown()),
  z.transform((v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : undefined)),
);
const repoTagSchema = z.looseObject({ Tag: z.string().check(z.minLength(1)), digest: z.string().check(z.regex(/^sha(256|512):[0-9a-f]+$/)) });
const listedTagSchema = z.extend(repoTagSchema, { updated: time, created: time });
const listedRepoSchema = z.looseObject({ name: z.string().check(z.minLength(1)), namespace: z.optional(z.string()) });
const syncRepoSchema = z.looseObject({ remoteRegionId: z.string().check(z.minLength(1)), remoteNamespace: z.string().check(z.minLength(1)) });
const syncJobSchema = z.looseObject({
  id: z.int(),
  tag: z.string().check(z.minLength(1)),
  status: z.string().check(z.minLength(1)),
  remoteRegionId: z.string().check(z.minLength(1)),
  remoteNamespace: z.string().check(z.minLength(1)),
  createdAt: time,
});

/** SWR's answers that name the organization or repository missing, not the automatic sync task. */
const REPO_MISSING = new Set(['SVCSTG.SWR.4040058', 'SVCSTG.SWR.4041061', 'SVCSTG.SWR.4040010']);

/**
 * Whether a failed DELETE sync_repo says the task is already gone: a 400 SVCSTG.SWR.4001158 (how
 * Huawei's own Terraform provider reads it), or a 404 about the task rather than its organization,
 * repository or the API itself.
 */
export function syncRepoGone(err: unknown): boolean {
  if (!(err instanceof CloudError)) return false;
  if (err.code === 'SVCSTG.SWR.4001158') return true;
  return err.status === 404 && !REPO_MISSING.has(err.code) && !err.code.startsWith('APIGW.');
}

const repoRef = { namespace: named(naming.swrNamespace), repository: named(naming.swrRepository) };
const target = { remoteRegionId: regionId, remoteNamespace: named(naming.swrNamespace) };
const repoRefInput = z.strictObject(repoRef);
const repoTagInput = z.strictObject({ ...repoRef, tag: named(naming.imageTag) });
const createSyncRepoInput = z.strictObject({ ...repoRef, ...target, syncAuto: z.optional(z.boolean()), override: z.optional(z.boolean()) });
const syncRepoKeyInput = z.strictObject({ ...repoRef, ...target });
const syncImagesInput = z.strictObject({
  ...repoRef,
  ...target,
  imageTag: z.array(named(naming.imageTag)).check(z.minLength(1, 'at least one tag')).check(z.maxLength(100)),
  override: z.optional(z.boolean()),
});
const listSyncJobsInput = z.strictObject({
  ...repoRef,
  limit: z.optional(z.int().check(z.gte(1)).check(z.lte(1000))),
  offset: z.optional(z.int().check(z.gte(0))),
  order: z.optional(z.enum(['desc', 'asc'])),
});

const pageInput = { limit: z.optional(z.int().check(z.gte(1)).check(z.lte(100))), offset: z.optional(z.int().check(z.gte(0))) };
const listReposInput = z.strictObject({ namespace: named(naming.swrNamespace), ...pageInput });
const listTagsInput = z.strictObject({ ...repoRef, ...pageInput });

export type SwrRepoRef = z.input<typeof repoRefInput>;
export type ListReposInput = z.input<typeof listReposInput>;
export type ListTagsInput = z.input<typeof listTagsInput>;

/** A tag as ListRepositoryTags lists it. */
export interface SwrTag {
  tag: string;
  digest: string;
  /** When it was last pushed (ISO time), when SWR says. */
  updated?: string | undefined;
}

/** One page of a listing: `total` from `Content-Range` (null when absent), `listed` records readable or not. */
export interface SwrPage<T> {
  items: T[];
  listed: number;
  total: number | null;
}
export type CreateSyncRepoInput = z.input<typeof createSyncRepoInput>;
export type SyncRepoKey = z.input<typeof syncRepoKeyInput>;
export type SyncImagesInput = z.input<typeof syncImagesInput>;
export type ListSyncJobsInput = z.input<typeof listSyncJobsInput>;

interface SwrCall {
  action: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string> | undefined;
  body?: unknown;
  mayHaveCreated?: boolean | undefined;
  overrides?: Record<string, new (init: CloudErrorInit) => CloudError> | undefined;
}

export class SwrClient {
  readonly region: string;
  readonly endpoint: string;
  private readonly host: string;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  private readonly limiter: AccountLimiter;

  constructor(private readonly options: SwrClientOptions) {
    if (!/^[a-z]{2,3}(?:-[a-z0-9]+)+$/.test(options.region)) throw new Error(`region: "${options.region}" is not a region id like "cn-north-4"`);
    this.region = options.region;
    this.endpoint = (options.endpoint ?? defaultSwrEndpoint(options.region)).replace(/\/+$/, '');
    this.host = new URL(this.endpoint).host;
    this.clock = options.clock ?? systemClock;
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    const auth = options.auth;
    if (auth.kind === 'aksk') {
      if (!auth.accessKey || !auth.secretKey) throw new Error('SWR AK/SK auth needs accessKey and secretKey');
      registerSecret(auth.secretKey);
      registerSecret(auth.securityToken);
    }
    const key = options.accountKey ?? (auth.kind === 'aksk' ? `huawei:${auth.accessKey}` : auth.iam.accountKey);
    this.limiter = options.limiter ?? getAccountLimiter(key);
  }

  private repoPath(ns: string, repo: string, leaf: string): string {
    return `/v2/manage/namespaces/${ns}/repos/${swrRepoPathSegment(repo)}/${leaf}`;
  }

  /**
   * Creates an automatic sync task (syncs images pushed from now on). What SWR answers when one to
   * the same remote exists is undocumented: use `ensureSyncRepo`.
   */
  async createSyncRepo(input: CreateSyncRepoInput): Promise<void> {
    const i = checkInput(createSyncRepoInput, input, 'swr', 'POST sync_repo');
    await this.call({
      action: 'POST sync_repo',
      method: 'POST',
      path: this.repoPath(i.namespace, i.repository, 'sync_repo'),
      body: { remoteRegionId: i.remoteRegionId, remoteNamespace: i.remoteNamespace, syncAuto: i.syncAuto ?? false, override: i.override ?? false },
      mayHaveCreated: true,
    });
  }

  /**
   * The automatic sync task to this remote, created unless SWR lists one. A create that fails while
   * the task exists afterwards (another caller made it) counts as present: Ferry never relies on
   * SWR's answer to a duplicate.
   */
  async ensureSyncRepo(input: CreateSyncRepoInput): Promise<{ created: boolean }> {
    const i = checkInput(createSyncRepoInput, input, 'swr', 'POST sync_repo');
    const key = { namespace: i.namespace, repository: i.repository, remoteRegionId: i.remoteRegionId, remoteNamespace: i.remoteNamespace };
    if (await this.findSyncRepo(key)) return { created: false };
    try {
      await this.createSyncRepo(i);
      return { created: true };
    } catch (err) {
      if (err instanceof CloudError && (await this.findSyncRepo(key).catch(() => undefined))) return { created: false };
      throw err;
    }
  }

  /** Automatic sync tasks of a repository; records without the fields Ferry reads are left out. */
  async listSyncRepos(input: SwrRepoRef): Promise<SwrSyncRepo[]> {
    const i = checkInput(repoRefInput, input, 'swr', 'GET sync_repo');
    const action = 'GET sync_repo';
    const res = await this.call({ action, method: 'GET', path: this.repoPath(i.namespace, i.repository, 'sync_repo') });
    return checkRecords(syncRepoSchema, this.json(res, action), this.ctx(action, res)).records;
  }

  /** The automatic sync task to this remote, if SWR lists one (there is no call to get one). */
  async findSyncRepo(input: SyncRepoKey): Promise<SwrSyncRepo | undefined> {
    const i = checkInput(syncRepoKeyInput, input, 'swr', 'GET sync_repo');
    const repos = await this.listSyncRepos({ namespace: i.namespace, repository: i.repository });
    return repos.find((r) => r.remoteRegionId === i.remoteRegionId && r.remoteNamespace === i.remoteNamespace);
  }

  /** Deletes an automatic sync task; `syncRepoGone(err)` tells "already deleted" apart from other refusals. */
  async deleteSyncRepo(input: SyncRepoKey): Promise<void> {
    const i = checkInput(syncRepoKeyInput, input, 'swr', 'DELETE sync_repo');
    await this.call({
      action: 'DELETE sync_repo',
      method: 'DELETE',
      path: this.repoPath(i.namespace, i.repository, 'sync_repo'),
      body: { remoteRegionId: i.remoteRegionId, remoteNamespace: i.remoteNamespace },
      overrides: { 'SVCSTG.SWR.4001158': CloudNotFoundError },
    });
  }

  /** Manual sync of existing tags; returns the tags SWR could not start (usually none). */
  async syncImages(input: SyncImagesInput): Promise<{ failedTags: string[] }> {
    const i = checkInput(syncImagesInput, input, 'swr', 'POST sync_images');
    const action = 'POST sync_images';
    const res = await this.call({
      action,
      method: 'POST',
      path: this.repoPath(i.namespace, i.repository, 'sync_images'),
      body: { imageTag: i.imageTag, override: i.override ?? false, remoteRegionId: i.remoteRegionId, remoteNamespace: i.remoteNamespace },
      mayHaveCreated: true,
    });
    const body = res.body.trim() ? this.json(res, action) : [];
    return {
      failedTags: checkOutput(
        z.pipe(
          z.nullable(z.array(z.string())),
          z.transform((v) => v ?? []),
        ),
        body,
        this.ctx(action, res),
      ),
    };
  }

  /**
   * Sync job records; `total` from `Content-Range: offset-count/total` (null when absent). SWR lists
   * automatic sync jobs too: records without the fields Ferry reads are left out and counted in `skipped`.
   */
  async listSyncJobs(input: ListSyncJobsInput): Promise<{ jobs: SwrSyncJob[]; total: number | null; skipped: number }> {
    const i = checkInput(listSyncJobsInput, input, 'swr', 'GET sync_job');
    const action = 'GET sync_job';
    const filter = [`limit::${i.limit ?? 10}`, `offset::${i.offset ?? 0}`, `order::${i.order ?? 'desc'}`].join('|');
    const res = await this.call({ action, method: 'GET', path: this.repoPath(i.namespace, i.repository, 'sync_job'), query: { filter } });
    const { records, skipped } = checkRecords(syncJobSchema, this.json(res, action), this.ctx(action, res));
    const total = this.totalOf(res, action);
    return { jobs: records, total, skipped };
  }

  /**
   * The digest a tag points at (ListRepositoryTags filtered by the tag), or null when SWR lists no
   * such tag. Records Ferry cannot read are left out.
   */
  async tagDigest(input: SwrRepoRef & { tag: string }): Promise<string | null> {
    const i = checkInput(repoRefInput, { namespace: input.namespace, repository: input.repository }, 'swr', 'GET tags');
    const action = 'GET tags';
    const res = await this.call({ action, method: 'GET', path: this.repoPath(i.namespace, i.repository, 'tags'), query: { tag: input.tag, limit: '100', offset: '0' } });
    const { records } = checkRecords(repoTagSchema, this.json(res, action), this.ctx(action, res));
    return records.find((r) => r.Tag === input.tag)?.digest ?? null;
  }

  /**
   * Deletes one tag (`DELETE .../tags/{tag}`, 204). A tag, repository or organization that does not
   * exist is a CloudNotFoundError (404).
   */
  async deleteRepoTag(input: SwrRepoRef & { tag: string }): Promise<{ requestId?: string | undefined }> {
    const i = checkInput(repoTagInput, input, 'swr', 'DELETE tag');
    const res = await this.call({ action: 'DELETE tag', method: 'DELETE', path: this.repoPath(i.namespace, i.repository, `tags/${encodeURIComponent(i.tag)}`) });
    return { requestId: res.headers['x-request-id'] };
  }

  /** One page of an organization's repositories (ListReposDetails, `GET /v2/manage/repos`). */
  async listRepositories(input: ListReposInput): Promise<SwrPage<{ namespace: string; repository: string }>> {
    const i = checkInput(listReposInput, input, 'swr', 'GET repos');
    const action = 'GET repos';
    const query = { namespace: i.namespace, limit: String(i.limit ?? 100), offset: String(i.offset ?? 0) };
    const res = await this.call({ action, method: 'GET', path: '/v2/manage/repos', query });
    const { records, skipped } = checkRecords(listedRepoSchema, this.json(res, action), this.ctx(action, res));
    // Records naming another organization are left out, whatever SWR's `namespace` filter lets through.
    const items = records.filter((r) => (r.namespace ?? i.namespace) === i.namespace).map((r) => ({ namespace: i.namespace, repository: r.name }));
    return { items, listed: records.length + skipped, total: this.totalOf(res, action) };
  }

  /** One page of a repository's tags with their digests (ListRepositoryTags). */
  async listTags(input: ListTagsInput): Promise<SwrPage<SwrTag>> {
    const i = checkInput(listTagsInput, input, 'swr', 'GET tags');
    const action = 'GET tags';
    const query = { limit: String(i.limit ?? 100), offset: String(i.offset ?? 0) };
    const res = await this.call({ action, method: 'GET', path: this.repoPath(i.namespace, i.repository, 'tags'), query });
    const { records, skipped } = checkRecords(listedTagSchema, this.json(res, action), this.ctx(action, res));
    return { items: records.map((r) => ({ tag: r.Tag, digest: r.digest, updated: r.updated ?? r.created })), listed: records.length + skipped, total: this.totalOf(res, action) };
  }

  /** Regions this account can sync to. */
  async listRegions(): Promise<string[]> {
    const action = 'GET regions';
    const res = await this.call({ action, method: 'GET', path: '/v2/manage/regions' });
    return checkOutput(z.array(z.object({ regionID: z.string().check(z.minLength(1)) })), this.json(res, action), this.ctx(action, res)).map((r) => r.regionID);
  }

  // ------------------------------------------------------------ plumbing

  /** `Content-Range: offset-count/total` → total; null when absent. */
  private totalOf(res: HttpResponse, action: string): number | null {
    const range = res.headers['content-range'];
    if (range === undefined) return null;
    const m = /^\s*(?:items\s+)?\d+-\d+\/(\d+)\s*$/.exec(range);
    if (!m) throw new CloudMalformedResponseError({ ...this.ctx(action, res), code: 'MalformedResponse', message: `Content-Range header "${range}" is not "offset-count/total"` });
    return Number(m[1]);
  }

  private ctx(action: string, res: HttpResponse) {
    return { provider: 'swr' as const, action, status: res.status, requestId: res.headers['x-request-id'] };
  }

  private json(res: HttpResponse, action: string): unknown {
    try {
      return JSON.parse(res.body);
    } catch {
      throw new CloudMalformedResponseError({ ...this.ctx(action, res), code: 'MalformedResponse', message: `response is not JSON: ${res.body.slice(0, 200) || '(empty body)'}` });
    }
  }

  private call(c: SwrCall): Promise<HttpResponse> {
    return withRetry(() => this.limiter.run(() => this.attempt(c)), this.policy, this.clock, { mayHaveCreated: c.mayHaveCreated });
  }

  /** One attempt; with token auth a 401 invalidates the token and re-sends once (the server refused it, so it is safe). */
  private async attempt(c: SwrCall): Promise<HttpResponse> {
    const auth = this.options.auth;
    let res = await this.sendSigned(c);
    if (res.status === 401 && auth.kind === 'token') {
      auth.iam.invalidate(res.token);
      res = await this.sendSigned(c);
    }
    if (res.status < 200 || res.status >= 300) {
      throw mapHuaweiError('swr', c.action, res.status, res.headers, res.body, this.clock.now(), c.overrides);
    }
    return res;
  }

  private async sendSigned(c: SwrCall): Promise<HttpResponse & { token?: string }> {
    const body = c.body === undefined ? '' : JSON.stringify(c.body);
    const query = c.query ?? {};
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = this.options.auth;
    let token: string | undefined;
    if (auth.kind === 'token') {
      const scoped = await auth.iam.getScopedToken();
      token = scoped.token;
      headers['x-auth-token'] = token;
      if (scoped.projectId) headers['x-project-id'] = scoped.projectId;
    } else {
      headers.host = this.host;
      headers['x-sdk-date'] = sdkDate(new Date(this.clock.now()));
      if (auth.securityToken) headers['x-security-token'] = auth.securityToken;
      if (auth.projectId) headers['x-project-id'] = auth.projectId;
      const signed = Object.keys(headers).sort();
      const signature = huaweiSignature({ method: c.method, path: c.path, query, headers, body }, signed, headers['x-sdk-date'], auth.secretKey);
      headers.authorization = huaweiAuthorization(auth.accessKey, signed, signature);
    }
    const qs = canonicalQuery(query);
    const res = await sendHttp({
      method: c.method,
      url: `${this.endpoint}${c.path}${qs ? '?' + qs : ''}`,
      headers,
      body: body || undefined,
      timeoutMs: this.options.timeoutMs ?? 10_000,
      provider: 'swr',
      action: c.action,
      region: this.region,
      dispatcher: this.options.dispatcher,
    });
    return { ...res, ...(token !== undefined ? { token } : {}) };
  }
}
