import { z } from 'zod';
import { imageTag, swrNamespace, swrRepository } from '../../shared/rules/naming.ts';
import { IamTokens, iamError, projectIdOf, verifyAksk } from './huawei-auth.ts';
import { SwrError, SwrErrors, gatewayError } from './swr-errors.ts';
import { SwrState, hexId, type ForcedOutcome, type SwrImageRef, type SyncJobMatch } from './swr-state.ts';
import type { LocalService } from './local-service.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from './types.ts';
import { parseHuaweiAuthorization } from '../../shared/clients/signing/huawei.ts';

/**
 * Huawei Cloud: IAM (`POST /v3/auth/tokens`) and SWR (`/v2/manage/...`), one server for all
 * regions. Region of an SWR call:
 *  - X-Auth-Token: the token's project scope (always wins);
 *  - AK/SK: a `host` of the form `swr-api.<region>.myhuaweicloud.com[.eu]`, else an
 *    `X-Project-Id` that is one of the regions' project ids (IAM returns them), else the
 *    header `x-ferry-region`, else the first seeded region.
 * `X-Project-Id`, when sent (the SDKs send it), must name the project of the credentials: the
 * token's project; with AK/SK the project of the region the host names, else one of the account's
 * projects. Otherwise 401 `APIGW.0301` "Incorrect IAM authentication information: X-Project-Id …".
 * Errors: SWR errors use the documented array `[{errorCode, errorMessage, detail}]` (other shapes:
 * swr-errors.ts); API Gateway errors (signature, unknown API, project) use `{error_code,
 * error_msg, request_id}`; IAM errors use `{error:{code, message, title}}`. Every response
 * carries `X-Request-Id`.
 * What SWR answers to a second `POST sync_repo` for the same remote is undocumented: this one says
 * 409 SVCSTG.SWR.4091001, and Ferry never relies on it (it lists first).
 * Realism modes: `swr.delete-missing-400`, `swr.foreign-jobs`, `swr.error-bodies` (realism.ts).
 */
export interface HuaweiService extends LocalService {
  readonly name: 'huawei';
  /** Puts a tag into a repository (creating it) and starts jobs for its automatic sync tasks. */
  pushImage(ref: SwrImageRef, digest?: string): { digest: string; jobIds: number[] };
  createNamespace(region: string, namespace: string): void;
  /** Whether the organization exists in the region (the region's registry takes pushes only into those). */
  hasNamespace(region: string, namespace: string): boolean;
  /** Digest of a tag, or undefined when the tag (or repository) does not exist. */
  imageDigest(ref: SwrImageRef): string | undefined;
  /** Forces an unfinished sync job's outcome (`stuck` keeps it running until forced again). */
  forceSyncJob(id: number, outcome: ForcedOutcome): void;
  /** Lists an unfinished sync job with a status Ferry does not know until it is forced again. */
  reportSyncJobStatus(id: number, status: string): void;
  /** The next `count` sync jobs matching `match` end as `outcome`. */
  planSyncOutcome(match: SyncJobMatch, outcome: ForcedOutcome, count?: number): void;
  /** Sync jobs (all regions) with their status at the current virtual time. */
  syncJobs(match?: SyncJobMatch): ReturnType<SwrState['findJobs']>;
  /** IAM project id of a region (what `X-Project-Id` carries). */
  projectId(region: string): string;
  /** Handles `/_local/swr/*` admin routes; null when the path is not one of them. */
  admin(req: CloudRequest): Promise<CloudResponse | null>;
  /** The Huawei account (domain name) whose token or AK the request carries. */
  caller(req: CloudRequest): string | undefined;
  /** An error in the shape the request's API uses: `APIGW.*` gateway, IAM, else the SWR array. */
  errorResponse(req: CloudRequest, status: number, code: string, message?: string): CloudResponse;
}

const SWR_PATH = /^\/v2\/manage\/namespaces\/([^/]+)\/repos\/([^/]+)\/(sync_repo|sync_images|sync_job|tags)\/?$/;
/** DeleteRepoTag: `DELETE /v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}`. */
const SWR_TAG_PATH = /^\/v2\/manage\/namespaces\/([^/]+)\/repos\/([^/]+)\/tags\/([^/]+)\/?$/;
const REGIONS_PATH = /^\/v2\/manage\/regions\/?$/;
const REPOS_PATH = /^\/v2\/manage\/repos\/?$/;
const IAM_PATH = /^\/v3\/auth\/tokens\/?$/;
const SWR_HOST = /^swr-api\.([a-z0-9-]+)\.myhuaweicloud\.(?:com|eu)(?::\d+)?$/;

function requestIdOf(env: LocalCloudEnv): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(env.random() * 16).toString(16);
  return s;
}

/** A ListRepositoryTags record, with the fields the SDK's ShowReposTagResp declares. */
function repoTagRecord(id: number, region: string, namespace: string, repo: string, tag: string, digest: string, pushedAt = 0) {
  const at = new Date(pushedAt).toISOString();
  return {
    id,
    repo_id: 1,
    Tag: tag,
    image_id: digest.replace(/^sha256:/, '').slice(0, 64),
    manifest: '',
    digest,
    schema: 2,
    path: `swr.${region}.myhuaweicloud.com/${namespace}/${repo}:${tag}`,
    internal_path: `${namespace}/${repo}:${tag}`,
    size: 0,
    is_trusted: false,
    created: at,
    updated: at,
    deleted: '',
    domain_id: 'local',
    scanned: false,
    tag_type: 0,
  };
}

/** A ListReposDetails record, with the fields the SDK's ShowReposResp declares. */
function repoRecord(region: string, namespace: string, repo: string, tags: readonly string[], domainName: string) {
  const at = new Date(0).toISOString();
  return {
    name: repo,
    category: 'other',
    description: '',
    size: 0,
    is_public: false,
    num_images: tags.length,
    num_download: 0,
    created_at: at,
    updated_at: at,
    logo: '',
    url: '',
    path: `swr.${region}.myhuaweicloud.com/${namespace}/${repo}`,
    internal_path: `${namespace}/${repo}`,
    domain_name: domainName,
    namespace,
    tags: [...tags],
    status: false,
    total_range: 0,
  };
}

/** `limit`/`offset` of a listing (the SDK sends them as strings); nonsense is a 400 as SWR answers it. */
function pageParams(req: CloudRequest): { offset: number; limit: number } {
  const offset = Number(req.query.get('offset') ?? 0);
  const limit = Number(req.query.get('limit') ?? 100);
  if (!Number.isInteger(offset) || offset < 0) throw new SwrError(400, 'SVCSTG.SWR.4000014', 'Invalid parameter: offset must be a whole number ≥ 0');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new SwrError(400, 'SVCSTG.SWR.4000014', 'Invalid parameter: limit must be a whole number from 1 to 1000');
  return { offset, limit };
}

function ok(body: unknown, requestId: string, extra: Record<string, string> = {}): CloudResponse {
  const headers: Record<string, string> = { 'x-request-id': requestId, ...extra };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { status: 200, headers, body };
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Repository path segment: percent-decoded, every `$` standing for `/`. */
function repoFromSegment(seg: string): string {
  return decodeSegment(seg).replace(/\$/g, '/');
}

const syncRepoCreate = z.object({
  remoteRegionId: z.string().min(1),
  remoteNamespace: z.string().min(1),
  syncAuto: z.boolean().default(false),
  override: z.boolean().default(false),
});
const syncRepoDelete = z.object({ remoteRegionId: z.string().min(1), remoteNamespace: z.string().min(1) });
const syncImages = z.object({
  imageTag: z.array(z.string()).min(1),
  override: z.boolean().default(false),
  remoteRegionId: z.string().min(1),
  remoteNamespace: z.string().min(1),
});

function parseBody<T>(req: CloudRequest, schema: z.ZodType<T>): T {
  let json: unknown;
  const text = req.body.toString('utf8');
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new SwrError(400, 'SVCSTG.SWR.4000014', 'Invalid parameter: the request body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  const missing = issue.code === 'invalid_type' && (json as Record<string, unknown> | null)?.[String(issue.path[0])] === undefined;
  if (missing) throw new SwrError(400, 'SVCSTG.SWR.4001014', `Missing parameter: ${field}`);
  throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: ${field}: ${issue.message}`);
}

/** `limit::{n}|offset::{n}|order::{desc|asc}`, every part optional. */
function parseJobFilter(raw: string | null): { limit: number | null; offset: number; order: 'asc' | 'desc' } {
  const out = { limit: null as number | null, offset: 0, order: 'desc' as 'asc' | 'desc' };
  if (!raw) return out;
  for (const part of raw.split('|')) {
    const m = /^(limit|offset|order)::(.*)$/.exec(part);
    if (!m) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: filter part "${part}" is not limit::{n}, offset::{n} or order::{desc|asc}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'order') {
      if (value !== 'asc' && value !== 'desc') throw new SwrError(400, 'SVCSTG.SWR.4000014', 'Invalid parameter: filter order must be desc or asc');
      out.order = value;
    } else {
      if (!/^\d+$/.test(value)) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: filter ${key} must be a non-negative integer`);
      if (key === 'limit') out.limit = Number(value);
      else out.offset = Number(value);
    }
  }
  return out;
}

export function createHuaweiService(env: LocalCloudEnv): HuaweiService {
  const swr = new SwrState(env);
  const iam = new IamTokens(env);
  const errors = new SwrErrors(env.realism);
  const seed = env.seed.huawei;
  const swrError = errors.response.bind(errors);

  function regionForAksk(req: CloudRequest): string {
    const host = SWR_HOST.exec(req.headers['host'] ?? '');
    if (host?.[1]) return host[1];
    const projectId = req.headers['x-project-id'];
    if (projectId) {
      const byProject = swr.regions().find((r) => projectIdOf(r) === projectId);
      if (byProject) return byProject;
    }
    return req.headers['x-ferry-region'] || swr.regions()[0] || 'cn-north-4';
  }

  function wrongProject(requestId: string, of: string): CloudResponse {
    return gatewayError(401, 'APIGW.0301', `Incorrect IAM authentication information: X-Project-Id is not the project of ${of}`, requestId);
  }

  /** Authenticates an SWR call; returns its region or an error response. */
  function authenticate(req: CloudRequest, requestId: string): { region: string } | CloudResponse {
    const projectId = req.headers['x-project-id'];
    const tokenHeader = req.headers['x-auth-token'];
    if (tokenHeader) {
      const token = iam.lookup(tokenHeader);
      if (!token) return swrError(401, 'SVCSTG.SWR.4010000', 'Authenticate failed: the token is invalid', requestId);
      if (req.now >= token.expiresAt) return swrError(401, 'SVCSTG.SWR.4010000', 'Authenticate failed: the token has expired', requestId);
      if (!token.region) return swrError(401, 'SVCSTG.SWR.4010000', 'Authenticate failed: the token is not scoped to a project', requestId);
      if (projectId && projectId !== projectIdOf(token.region)) return wrongProject(requestId, 'the token');
      return { region: token.region };
    }
    if (req.headers['authorization']) {
      const result = verifyAksk(req, seed.credentials);
      if (!result.ok) return gatewayError(401, result.code, result.message, requestId);
      const hostRegion = SWR_HOST.exec(req.headers['host'] ?? '')?.[1];
      const projects = hostRegion ? [hostRegion] : swr.regions();
      if (projectId && !projects.some((r) => projectIdOf(r) === projectId)) return wrongProject(requestId, hostRegion ? `region ${hostRegion}` : `account ${seed.domain}`);
      return { region: regionForAksk(req) };
    }
    return swrError(401, 'SVCSTG.SWR.4010000', 'Authenticate failed: send X-Auth-Token or an SDK-HMAC-SHA256 signature', requestId);
  }

  function checkRepo(region: string, nsSeg: string, repoSeg: string): { namespace: string; repo: string } {
    const namespace = decodeSegment(nsSeg);
    const repo = repoFromSegment(repoSeg);
    const nsProblem = swrNamespace(namespace);
    if (nsProblem) throw new SwrError(400, 'SVCSTG.SWR.4001028', `Invalid organization name: namespace ${nsProblem}`);
    const repoProblem = swrRepository(repo);
    if (repoProblem) throw new SwrError(400, 'SVCSTG.SWR.4001029', `Invalid image name: repository ${repoProblem}`);
    if (!swr.hasRegion(region)) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: region ${region} is not served`);
    if (!swr.hasNamespace(region, namespace)) throw new SwrError(404, 'SVCSTG.SWR.4040058', `Organization ${namespace} does not exist in ${region}`);
    if (!swr.tagsOf(region, namespace, repo)) throw new SwrError(404, 'SVCSTG.SWR.4040010', `Image ${namespace}/${repo} does not exist in ${region}`);
    return { namespace, repo };
  }

  function checkRemote(region: string, remoteRegionId: string, remoteNamespace: string): void {
    if (!swr.hasRegion(remoteRegionId)) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: remoteRegionId ${remoteRegionId} is not a region one can sync to`);
    if (remoteRegionId === region) throw new SwrError(400, 'SVCSTG.SWR.4000014', 'Invalid parameter: remoteRegionId must differ from the source region');
    const problem = swrNamespace(remoteNamespace);
    if (problem) throw new SwrError(400, 'SVCSTG.SWR.4001028', `Invalid organization name: remoteNamespace ${problem}`);
    if (!swr.hasNamespace(remoteRegionId, remoteNamespace)) {
      throw new SwrError(404, 'SVCSTG.SWR.4041061', `Organization ${remoteNamespace} does not exist in ${remoteRegionId}`);
    }
  }

  function handleSwr(req: CloudRequest, region: string, m: RegExpExecArray, requestId: string): CloudResponse {
    const action = m[3]!;
    const { namespace, repo } = checkRepo(region, m[1]!, m[2]!);
    const foreign = env.realism.on('swr.foreign-jobs');
    if (action === 'sync_repo') {
      if (req.method === 'GET') return ok([...swr.listTasks(region, namespace, repo), ...(foreign ? swr.foreignTasks(namespace, repo) : [])], requestId);
      if (req.method === 'POST') {
        const body = parseBody(req, syncRepoCreate);
        checkRemote(region, body.remoteRegionId, body.remoteNamespace);
        if (swr.findTask(region, namespace, repo, body.remoteRegionId, body.remoteNamespace)) {
          throw new SwrError(409, 'SVCSTG.SWR.4091001', `A sync task of ${namespace}/${repo} to ${body.remoteRegionId}/${body.remoteNamespace} already exists`);
        }
        swr.createTask({ region, namespace, repo, ...body }, req.now);
        return ok(undefined, requestId);
      }
      if (req.method === 'DELETE') {
        const body = parseBody(req, syncRepoDelete);
        const result = swr.deleteTask(region, namespace, repo, body.remoteRegionId, body.remoteNamespace);
        // As Huawei answers (Terraform reads it in the `errors` shape), a task never made included.
        const realistic = env.realism.on('swr.delete-missing-400');
        if (result === 'gone' || (result === 'missing' && realistic)) {
          throw new SwrError(400, 'SVCSTG.SWR.4001158', `The sync task to ${body.remoteRegionId}/${body.remoteNamespace} has already been deleted`, realistic ? 'errors' : undefined);
        }
        if (result === 'missing') throw new SwrError(404, 'SVCSTG.SWR.4040160', `No sync task of ${namespace}/${repo} to ${body.remoteRegionId}/${body.remoteNamespace}`);
        return ok(undefined, requestId);
      }
    } else if (action === 'sync_images') {
      if (req.method === 'POST') {
        const body = parseBody(req, syncImages);
        for (const tag of body.imageTag) {
          const problem = imageTag(tag);
          if (problem) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: imageTag "${tag}" ${problem}`);
        }
        checkRemote(region, body.remoteRegionId, body.remoteNamespace);
        const tags = swr.tagsOf(region, namespace, repo)!;
        const failed: string[] = [];
        let started: SwrImageRef | undefined;
        for (const tag of new Set(body.imageTag)) {
          if (!tags.has(tag)) {
            failed.push(tag);
            continue;
          }
          started = { region, namespace, repo, tag };
          if (foreign) swr.startForeignJob(started, body.remoteRegionId, body.remoteNamespace, req.now);
          swr.startJob(started, body.remoteRegionId, body.remoteNamespace, body.override, req.now, hexId('user-op', region), 'ferry');
        }
        // Others' jobs after Ferry's too: Ferry's own are listed between them.
        if (foreign && started) swr.startForeignJob(started, body.remoteRegionId, body.remoteNamespace, req.now);
        return ok(failed, requestId);
      }
    } else if (action === 'tags') {
      if (req.method === 'GET') {
        // ListRepositoryTags: `tag` narrows by tag, `limit`/`offset` page (the SDK sends them as strings).
        const wanted = req.query.get('tag');
        const { offset, limit } = pageParams(req);
        const all = [...swr.tagsOf(region, namespace, repo)!]
          .filter(([tag]) => !wanted || tag.includes(wanted))
          .map(([tag, digest], id) => repoTagRecord(id + 1, region, namespace, repo, tag, digest, swr.tagPushedAt(region, namespace, repo, tag)));
        const page = all.slice(offset, offset + limit);
        return ok(page, requestId, { 'content-range': `${offset}-${page.length}/${all.length}` });
      }
    } else if (req.method === 'GET') {
      const filter = parseJobFilter(req.query.get('filter'));
      const all = swr.listJobs(region, namespace, repo, req.now, filter.order);
      const page = all.slice(filter.offset, filter.limit === null ? undefined : filter.offset + filter.limit);
      return ok(page, requestId, { 'content-range': `${filter.offset}-${page.length}/${all.length}` });
    }
    return gatewayError(404, 'APIGW.0101', `The API does not exist or has not been published in the environment: ${req.method} ${req.path}`, requestId);
  }

  /** DeleteRepoTag: 204; 404 SVCSTG.SWR.4040048 for a tag the repository does not have (after the organization and repository checks). */
  function deleteTag(region: string, m: RegExpExecArray, requestId: string): CloudResponse {
    const { namespace, repo } = checkRepo(region, m[1]!, m[2]!);
    const tag = decodeSegment(m[3]!);
    const problem = imageTag(tag);
    if (problem) throw new SwrError(400, 'SVCSTG.SWR.4000014', `Invalid parameter: tag "${tag}" ${problem}`);
    if (!swr.tagsOf(region, namespace, repo)!.delete(tag)) throw new SwrError(404, 'SVCSTG.SWR.4040048', `Image tag ${namespace}/${repo}:${tag} does not exist in ${region}`);
    swr.deletedTags.push({ region, namespace, repo, tag });
    return { status: 204, headers: { 'x-request-id': requestId }, body: undefined };
  }

  /** ListReposDetails: an organization's repositories (`namespace`), paged by `limit`/`offset`. */
  function listRepos(req: CloudRequest, region: string, requestId: string): CloudResponse {
    const namespace = req.query.get('namespace');
    if (!namespace) throw new SwrError(400, 'SVCSTG.SWR.4001014', 'Missing parameter: namespace');
    const { offset, limit } = pageParams(req);
    const repos = swr.reposOf(region, namespace);
    if (!repos) throw new SwrError(404, 'SVCSTG.SWR.4040058', `Organization ${namespace} does not exist in ${region}`);
    const all = [...repos].sort(([a], [b]) => a.localeCompare(b)).map(([repo, tags]) => repoRecord(region, namespace, repo, [...tags.keys()], swr.domainName));
    const page = all.slice(offset, offset + limit);
    return ok(page, requestId, { 'content-range': `${offset}-${page.length}/${all.length}` });
  }

  async function handle(req: CloudRequest): Promise<CloudResponse> {
    const requestId = requestIdOf(env);
    if (IAM_PATH.test(req.path)) {
      if (req.method !== 'POST') return iamError(405, 'Method Not Allowed', `${req.method} is not allowed on /v3/auth/tokens`, requestId);
      return iam.issue(req, requestId);
    }
    const auth = authenticate(req, requestId);
    if ('status' in auth) return auth;
    swr.settle(req.now);
    try {
      if (REGIONS_PATH.test(req.path) && req.method === 'GET')
        return ok(
          swr.regions().map((regionID) => ({ regionID })),
          requestId,
        );
      if (REPOS_PATH.test(req.path) && req.method === 'GET') return listRepos(req, auth.region, requestId);
      const m = SWR_PATH.exec(req.path);
      if (m) return handleSwr(req, auth.region, m, requestId);
      const t = SWR_TAG_PATH.exec(req.path);
      if (t && req.method === 'DELETE') return deleteTag(auth.region, t, requestId);
      return gatewayError(404, 'APIGW.0101', `The API does not exist or has not been published in the environment: ${req.method} ${req.path}`, requestId);
    } catch (e) {
      if (e instanceof SwrError) return swrError(e.status, e.code, e.message, requestId, { shape: e.shape });
      throw e;
    }
  }

  function operation(req: CloudRequest): { op: string; scope?: string } | null {
    if (IAM_PATH.test(req.path)) return { op: 'iam:tokens', scope: IamTokens.scopeOf(req.body) };
    const tokenHeader = req.headers['x-auth-token'];
    const scope = tokenHeader ? (iam.lookup(tokenHeader)?.region ?? undefined) : regionForAksk(req);
    if (REGIONS_PATH.test(req.path)) return { op: 'swr:regions', scope };
    if (SWR_TAG_PATH.test(req.path)) return { op: 'swr:tags:delete', scope };
    const m = SWR_PATH.exec(req.path);
    if (!m) return null;
    if (m[3] === 'sync_repo') {
      const verb = ({ POST: 'create', GET: 'list', DELETE: 'delete' } as Record<string, string>)[req.method];
      return verb ? { op: `swr:sync_repo:${verb}`, scope } : null;
    }
    return { op: `swr:${m[3]}`, scope };
  }

  async function admin(req: CloudRequest): Promise<CloudResponse | null> {
    if (!req.path.startsWith('/_local/swr/')) return null;
    const rest = req.path.slice('/_local/swr'.length);
    const json = (): Record<string, unknown> => {
      const text = req.body.toString('utf8');
      return text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    try {
      if (req.method === 'GET' && rest === '/state') return { status: 200, body: swr.snapshot(req.now) };
      if (req.method === 'POST' && rest === '/images') {
        const b = adminImage.parse(json());
        return { status: 200, body: swr.pushImage(b, b.digest, req.now) };
      }
      if (req.method === 'POST' && rest === '/namespaces') {
        const b = z.object({ region: z.string(), name: z.string() }).parse(json());
        swr.createNamespace(b.region, b.name);
        return { status: 200, body: { ok: true } };
      }
      const force = /^\/sync_jobs\/(\d+)\/outcome$/.exec(rest);
      if (req.method === 'POST' && force) {
        const b = z.object({ outcome: outcomeSchema }).parse(json());
        swr.forceJob(Number(force[1]), b.outcome, req.now);
        return { status: 200, body: { ok: true } };
      }
      if (req.method === 'POST' && rest === '/sync_outcomes') {
        const b = z.object({ match: matchSchema.default({}), outcome: outcomeSchema, count: z.number().int().positive().default(1) }).parse(json());
        swr.planOutcome(b.match, b.outcome, b.count);
        return { status: 200, body: { ok: true } };
      }
      if (req.method === 'GET' && rest === '/sync_jobs') return { status: 200, body: swr.findJobs({}, req.now) };
    } catch (e) {
      return { status: 400, body: { error: e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (e as Error).message } };
    }
    return { status: 404, body: { error: `no admin route ${req.method} ${req.path}` } };
  }

  return {
    name: 'huawei',
    owns: (req) => IAM_PATH.test(req.path) || req.path.startsWith('/v2/manage/'),
    operation,
    handle,
    throttled(req, waitMs) {
      const requestId = requestIdOf(env);
      const retryAfter = String(Math.max(1, Math.ceil(waitMs / 1000)));
      if (IAM_PATH.test(req.path)) {
        const r = iamError(429, 'Too Many Requests', 'The throttling threshold has been reached.', requestId);
        return { ...r, headers: { ...r.headers, 'retry-after': retryAfter } };
      }
      return swrError(403, 'SVCSTG.SWR.4031042', 'Too many requests, please try again later', requestId, { headers: { 'retry-after': retryAfter } });
    },
    serverError(req, status) {
      const requestId = requestIdOf(env);
      if (IAM_PATH.test(req.path)) return iamError(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error', 'The service is temporarily unavailable.', requestId);
      return swrError(status, status === 503 ? 'SVCSTG.SWR.5030001' : 'SVCSTG.SWR.5000001', 'Internal error, please try again later', requestId);
    },
    reset() {
      swr.reset();
      iam.reset();
      errors.reset();
    },
    snapshot() {
      const now = env.clock.now();
      return { ...(swr.snapshot(now) as object), tokens: iam.snapshot(now) };
    },
    pushImage: (ref, digest) => swr.pushImage(ref, digest),
    createNamespace: (region, namespace) => swr.createNamespace(region, namespace),
    hasNamespace: (region, namespace) => swr.hasNamespace(region, namespace),
    imageDigest: (ref) => {
      swr.settle(env.clock.now());
      return swr.tagsOf(ref.region, ref.namespace, ref.repo)?.get(ref.tag);
    },
    forceSyncJob: (id, outcome) => swr.forceJob(id, outcome),
    reportSyncJobStatus: (id, status) => swr.reportStatus(id, status),
    planSyncOutcome: (match, outcome, count) => swr.planOutcome(match, outcome, count),
    syncJobs: (match) => swr.findJobs(match),
    projectId: projectIdOf,
    admin,
    caller(req) {
      const tokenHeader = req.headers['x-auth-token'];
      if (tokenHeader) return iam.lookup(tokenHeader) ? seed.domain : undefined;
      const auth = parseHuaweiAuthorization(req.headers['authorization'] ?? '');
      return auth && seed.credentials.some((c) => c.accessKey === auth.accessKey) ? seed.domain : undefined;
    },
    errorResponse(req, status, code, message = code) {
      const requestId = requestIdOf(env);
      if (code.startsWith('APIGW.')) return gatewayError(status, code, message, requestId);
      if (IAM_PATH.test(req.path)) return iamError(status, code, message, requestId);
      return swrError(status, code, message, requestId);
    },
  };
}

const outcomeSchema = z.enum(['success', 'failed', 'timeout', 'cancel', 'stuck']);
const matchSchema = z.object({
  region: z.string().optional(),
  namespace: z.string().optional(),
  repo: z.string().optional(),
  tag: z.string().optional(),
  remoteRegionId: z.string().optional(),
});
const adminImage = z.object({ region: z.string(), namespace: z.string(), repo: z.string(), tag: z.string(), digest: z.string().optional() });
