import { maskUrl } from './admin-util.ts';
import { createHash } from 'node:crypto';
import { acrNamespace, acrRepository, imageTag, digest as digestRule } from '../../shared/rules/naming.ts';
import { FOREIGN_SOURCE, foreignSyncTasks } from './acr-foreign.ts';
import { AcrTempCredentials } from './registry/acr-credentials.ts';
import { AlibabaApiError, invalidParameter, optionalBool, optionalInt, page, randomId, required, type Params } from './alibaba-common.ts';
import { Pruner } from './task-cap.ts';
import type { LocalCloudEnv } from './types.ts';

/**
 * ACR Enterprise Edition (2018-12-01) state and operations: instances, namespaces,
 * repositories, tags, repository triggers and image sync tasks.
 *
 * Sync tasks move PENDING → SYNCHRONIZING → SUCCESS on the virtual clock with no timers:
 * every read first "settles" the tasks whose end time has passed, in end-time order,
 * which is when the tag lands in the target (or TAG_CONFLICT / a forced ERROR happens).
 *
 * Documented choices (not stated by Alibaba's pages):
 * - CancelRepoSyncTask on a CANCELED task succeeds again (idempotent); on a SUCCESS or
 *   ERROR task it fails with HTTP 400 `SYNC_TASK_STATUS_INVALID` ("Sync task status is
 *   invalid.") and leaves the task unchanged, so a caller can tell "too late" from "done".
 * - Unknown instance, or an instance of another account, → 400 `INSTANCE_NOT_EXIST`;
 *   unknown repository → 400 `REPO_NOT_EXIST`; CreateRepoSyncTask whose source tag does
 *   not exist → 400 `TAG_NOT_EXIST`; TargetRegionId must be the target instance's region, and
 *   RegionId, when sent (the generated SDK's model has none), the source instance's.
 * - ListRepository pages by PageNo/PageSize or by MaxResults/NextToken (an opaque offset).
 * - An outcome rule `retrying` keeps a task in `RETRYING` (a status newer than the reference
 *   pages) until it is cancelled; realism `acr.foreign-tasks` adds other callers' tasks to
 *   listings (acr-foreign.ts).
 * - A target instance owned by another account needs `TargetUserId` equal to that
 *   account (missing → MissingParameter, wrong → NoPrivilege); the task has CrossUser=true.
 * - The target namespace/repository are created when a task succeeds (as ACR EE does
 *   with auto-create namespace on). Override defaults to false.
 * - GetAuthorizationToken answers `cr_temp_user`, a token and ExpireTime (ms) one virtual hour
 *   ahead; the instance's registry (registry/) accepts them until then.
 */

export type SyncTaskStatus = 'PENDING' | 'SYNCHRONIZING' | 'RETRYING' | 'SUCCESS' | 'ERROR' | 'CANCELED';
export const TASK_ISSUES = ['OSS_POLICY_UNAUTHORIZED', 'TAG_CONFLICT', 'UNSUPPORTED_FORMAT', 'INTERNAL_ERROR', 'NETWORK_ERROR', 'DATA_LENGTH_EXCEEDED'] as const;
export type TaskIssue = (typeof TASK_ISSUES)[number];

export interface AcrTag {
  digest: string;
  size: number;
  pushedAt: number;
}

export interface AcrTrigger {
  triggerId: string;
  triggerName: string;
  triggerType: 'ALL' | 'TAG_LIST' | 'TAG_REG_EXP';
  triggerUrl: string;
  triggerTag: string;
}

export interface AcrRepo {
  repoId: string;
  instanceId: string;
  namespace: string;
  name: string;
  repoType: 'PUBLIC' | 'PRIVATE';
  createTime: number;
  modifiedTime: number;
  tags: Map<string, AcrTag>;
  triggers: AcrTrigger[];
}

export interface AcrInstance {
  instanceId: string;
  region: string;
  accountId: string;
  /** namespace → repo name → repo */
  namespaces: Map<string, Map<string, AcrRepo>>;
}

export interface ImageRef {
  instanceId: string;
  region: string;
  namespace: string;
  repo: string;
  tag: string;
}

export interface SyncTask {
  syncTaskId: string;
  syncBatchTaskId: string;
  source: ImageRef & { repoId: string; digest: string; size: number };
  target: ImageRef;
  override: boolean;
  crossUser: boolean;
  createTime: number;
  pendingMs: number;
  syncMs: number;
  forced?: { kind: 'error'; issue: TaskIssue } | { kind: 'stuck' | 'retrying' } | undefined;
  /** Set once the task reached a final status. */
  final?: { status: 'SUCCESS' | 'ERROR' | 'CANCELED'; at: number; issue?: TaskIssue } | undefined;
}

export interface SyncTaskView {
  syncTaskId: string;
  syncBatchTaskId: string;
  status: SyncTaskStatus;
  issue?: TaskIssue | undefined;
  source: SyncTask['source'];
  target: ImageRef;
  override: boolean;
  crossUser: boolean;
  createTime: number;
  modifiedTime: number;
}

export interface OutcomeRuleInput {
  targetInstanceId?: string | undefined;
  /** Matches the source or the target repository name. */
  repo?: string | undefined;
  /** Matches the source or the target tag. */
  tag?: string | undefined;
  /** How many matching tasks this rule decides (default 1). */
  count?: number | undefined;
  /** `stuck`: SYNCHRONIZING until cancelled; `retrying`: RETRYING until cancelled. */
  outcome: 'error' | 'stuck' | 'retrying';
  /** For `error` (default INTERNAL_ERROR). */
  taskIssue?: TaskIssue | undefined;
}

interface OutcomeRule extends OutcomeRuleInput {
  id: string;
  remaining: number;
}

export interface CreateCall {
  at: number;
  syncTaskId: string;
  source: ImageRef;
  target: ImageRef;
}

export interface PushInput {
  instanceId: string;
  namespace: string;
  repo: string;
  tag: string;
  digest?: string | undefined;
  size?: number | undefined;
}

export interface TriggerDelivery {
  triggerId: string;
  triggerName: string;
  url: string;
  status?: number;
  error?: string;
}

export interface PushResult {
  instanceId: string;
  region: string;
  namespace: string;
  repo: string;
  repoId: string;
  tag: string;
  digest: string;
  payload: AcrTriggerPayload;
  deliveries: TriggerDelivery[];
}

export interface AcrTriggerPayload {
  push_data: { digest: string; pushed_at: string; tag: string };
  repository: {
    date_created: string;
    name: string;
    namespace: string;
    region: string;
    repo_authentication_type: string;
    repo_full_name: string;
    repo_origin_type: string;
    repo_type: string;
  };
}

/** `YYYY-MM-DD HH:mm:ss` in China Standard Time (UTC+8), as ACR writes trigger times. */
export function acrTriggerTime(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);
}

function stableHex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

export class AcrState {
  instances = new Map<string, AcrInstance>();
  tasks: SyncTask[] = [];
  calls: CreateCall[] = [];
  /** Every tag DeleteRepoTag removed. */
  deleteCalls: { instanceId: string; namespace: string; repo: string; tag: string }[] = [];
  /** GetAuthorizationToken's temporary credentials, which the instances' registries accept. */
  readonly registryCredentials = new AcrTempCredentials();
  private outcomes: OutcomeRule[] = [];
  private outcomeSeq = 1;
  private readonly pruner: Pruner<SyncTask>;

  constructor(private readonly env: LocalCloudEnv) {
    this.pruner = new Pruner<SyncTask>({ keep: env.seed.keepFinishedTasks, scopeOf: (t) => t.source.instanceId, finishedAt: (t) => t.final?.at });
    this.reset();
  }

  reset(): void {
    this.instances.clear();
    this.tasks = [];
    this.pruner.reset();
    this.calls = [];
    this.deleteCalls = [];
    this.outcomes = [];
    this.registryCredentials.clear();
    const { alibaba } = this.env.seed;
    const defaultAccount = alibaba.accounts[0]?.accountId ?? '';
    const now = this.env.clock.now();
    for (const inst of alibaba.instances) {
      const instance: AcrInstance = { instanceId: inst.instanceId, region: inst.region, accountId: inst.accountId ?? defaultAccount, namespaces: new Map() };
      this.instances.set(inst.instanceId, instance);
      for (const ns of inst.namespaces) {
        const repos = new Map<string, AcrRepo>();
        instance.namespaces.set(ns.name, repos);
        for (const r of ns.repos) {
          const repo = this.newRepo(instance, ns.name, r.name, now);
          for (const [tag, digest] of Object.entries(r.tags)) repo.tags.set(tag, { digest, size: sizeOf(digest), pushedAt: now });
          repos.set(r.name, repo);
        }
      }
    }
  }

  private newRepo(instance: AcrInstance, namespace: string, name: string, now: number): AcrRepo {
    // Stable ids: the same seed gives the same RepoIds across restarts.
    const repoId = 'crr-' + stableHex(instance.instanceId, namespace, name).slice(0, 16);
    return { repoId, instanceId: instance.instanceId, namespace, name, repoType: 'PRIVATE', createTime: now, modifiedTime: now, tags: new Map(), triggers: [] };
  }

  // ---------- lookups ----------

  instanceFor(instanceId: string, accountId: string | undefined): AcrInstance {
    const inst = this.instances.get(instanceId);
    if (!inst || (accountId !== undefined && inst.accountId !== accountId)) {
      throw new AlibabaApiError(400, 'INSTANCE_NOT_EXIST', 'Instance is not exist.');
    }
    return inst;
  }

  *repos(instance: AcrInstance): Iterable<AcrRepo> {
    for (const repos of instance.namespaces.values()) yield* repos.values();
  }

  repoById(instance: AcrInstance, repoId: string): AcrRepo {
    for (const r of this.repos(instance)) if (r.repoId === repoId) return r;
    throw new AlibabaApiError(400, 'REPO_NOT_EXIST', 'Repository is not exist.');
  }

  repoByName(instance: AcrInstance, namespace: string, name: string): AcrRepo {
    const r = instance.namespaces.get(namespace)?.get(name);
    if (!r) throw new AlibabaApiError(400, 'REPO_NOT_EXIST', 'Repository is not exist.');
    return r;
  }

  ensureRepo(instance: AcrInstance, namespace: string, name: string, now: number): AcrRepo {
    let repos = instance.namespaces.get(namespace);
    if (!repos) instance.namespaces.set(namespace, (repos = new Map()));
    let repo = repos.get(name);
    if (!repo) repos.set(name, (repo = this.newRepo(instance, namespace, name, now)));
    return repo;
  }

  // ---------- sync task lifecycle ----------

  private endOf(t: SyncTask): number {
    return t.createTime + t.pendingMs + t.syncMs;
  }

  /** Finalizes every task whose end time has passed, in end-time order. */
  settle(now: number): void {
    const due = this.tasks.filter((t) => !t.final && !endless(t) && this.endOf(t) <= now).sort((a, b) => this.endOf(a) - this.endOf(b));
    for (const t of due) {
      const at = this.endOf(t);
      if (t.forced?.kind === 'error') {
        t.final = { status: 'ERROR', at, issue: t.forced.issue };
        continue;
      }
      const target = this.instances.get(t.target.instanceId);
      if (!target) {
        t.final = { status: 'ERROR', at, issue: 'INTERNAL_ERROR' };
        continue;
      }
      const repo = this.ensureRepo(target, t.target.namespace, t.target.repo, at);
      const existing = repo.tags.get(t.target.tag);
      if (existing && existing.digest !== t.source.digest && !t.override) {
        t.final = { status: 'ERROR', at, issue: 'TAG_CONFLICT' };
        continue;
      }
      repo.tags.set(t.target.tag, { digest: t.source.digest, size: t.source.size, pushedAt: at });
      repo.modifiedTime = at;
      t.final = { status: 'SUCCESS', at };
    }
    this.tasks = this.pruner.maybePrune(this.tasks);
    // The create-call log (a test record) is bounded alike: the newest ones, ten per kept task.
    const keepCalls = 10 * this.env.seed.keepFinishedTasks;
    if (this.calls.length > 2 * keepCalls) this.calls = this.calls.slice(-keepCalls);
    if (this.deleteCalls.length > 2 * keepCalls) this.deleteCalls = this.deleteCalls.slice(-keepCalls);
  }

  statusOf(t: SyncTask, now: number): { status: SyncTaskStatus; modifiedTime: number; issue?: TaskIssue | undefined } {
    if (t.final) return { status: t.final.status, modifiedTime: t.final.at, issue: t.final.issue };
    if (now < t.createTime + t.pendingMs) return { status: 'PENDING', modifiedTime: t.createTime };
    return { status: t.forced?.kind === 'retrying' ? 'RETRYING' : 'SYNCHRONIZING', modifiedTime: t.createTime + t.pendingMs };
  }

  view(t: SyncTask, now: number): SyncTaskView {
    const s = this.statusOf(t, now);
    return {
      syncTaskId: t.syncTaskId,
      syncBatchTaskId: t.syncBatchTaskId,
      status: s.status,
      issue: s.issue,
      source: t.source,
      target: t.target,
      override: t.override,
      crossUser: t.crossUser,
      createTime: t.createTime,
      modifiedTime: s.modifiedTime,
    };
  }

  addOutcome(input: OutcomeRuleInput): string {
    if (!['error', 'stuck', 'retrying'].includes(input.outcome)) throw new Error(`outcome must be "error", "stuck" or "retrying", got ${JSON.stringify(input.outcome)}`);
    if (input.taskIssue !== undefined && !TASK_ISSUES.includes(input.taskIssue)) throw new Error(`taskIssue must be one of ${TASK_ISSUES.join(', ')}`);
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
    const id = `outcome-${this.outcomeSeq++}`;
    this.outcomes.push({ ...input, id, remaining: count });
    return id;
  }

  listOutcomes(): OutcomeRuleInput[] {
    return this.outcomes.map((o) => ({ ...o }));
  }

  private takeOutcome(source: ImageRef, target: ImageRef): SyncTask['forced'] {
    for (const o of this.outcomes) {
      if (o.remaining <= 0) continue;
      if (o.targetInstanceId !== undefined && o.targetInstanceId !== target.instanceId) continue;
      if (o.repo !== undefined && o.repo !== source.repo && o.repo !== target.repo) continue;
      if (o.tag !== undefined && o.tag !== source.tag && o.tag !== target.tag) continue;
      o.remaining--;
      return o.outcome === 'error' ? { kind: 'error', issue: o.taskIssue ?? 'INTERNAL_ERROR' } : { kind: o.outcome };
    }
    return undefined;
  }

  private duration(): number {
    const { min, max } = this.env.seed.syncDurationMs;
    const lo = Math.min(min, max);
    const hi = Math.max(min, max);
    return Math.round(lo + this.env.random() * (hi - lo));
  }

  // ---------- push (admin) and triggers ----------

  async push(input: PushInput): Promise<PushResult> {
    const now = this.env.clock.now();
    const instance = this.instances.get(input.instanceId);
    if (!instance) throw new Error(`push: unknown instanceId "${input.instanceId}"`);
    for (const [field, value, check] of [
      ['namespace', input.namespace, acrNamespace],
      ['repo', input.repo, acrRepository],
      ['tag', input.tag, imageTag],
    ] as const) {
      const problem = typeof value === 'string' ? check(value) : 'is required';
      if (problem) throw new Error(`push: ${field} ${problem}`);
    }
    if (input.digest !== undefined) {
      const problem = digestRule(input.digest);
      if (problem) throw new Error(`push: digest ${problem}`);
    }
    this.settle(now);
    const repo = this.ensureRepo(instance, input.namespace, input.repo, now);
    const digest = input.digest ?? 'sha256:' + stableHex(instance.instanceId, input.namespace, input.repo, input.tag, String(now), String(this.env.random()));
    repo.tags.set(input.tag, { digest, size: input.size ?? sizeOf(digest), pushedAt: now });
    repo.modifiedTime = now;
    const payload: AcrTriggerPayload = {
      push_data: { digest, pushed_at: acrTriggerTime(now), tag: input.tag },
      repository: {
        date_created: acrTriggerTime(repo.createTime),
        name: repo.name,
        namespace: repo.namespace,
        region: instance.region,
        repo_authentication_type: 'NO_CERTIFIED',
        repo_full_name: `${repo.namespace}/${repo.name}`,
        repo_origin_type: 'NO_CERTIFIED',
        repo_type: repo.repoType,
      },
    };
    const matching = repo.triggers.filter((t) => triggerMatches(t, input.tag));
    const deliveries = await Promise.all(
      matching.map(async (t): Promise<TriggerDelivery> => {
        try {
          const { status } = await this.env.deliver(t.triggerUrl, payload);
          return { triggerId: t.triggerId, triggerName: t.triggerName, url: maskUrl(t.triggerUrl), status };
        } catch (err) {
          return { triggerId: t.triggerId, triggerName: t.triggerName, url: maskUrl(t.triggerUrl), error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return { instanceId: instance.instanceId, region: instance.region, namespace: repo.namespace, repo: repo.name, repoId: repo.repoId, tag: input.tag, digest, payload, deliveries };
  }

  // ---------- API operations (params → response fields; throw AlibabaApiError) ----------

  op(action: string, p: Params, ctx: { accountId: string; now: number }): Record<string, unknown> {
    this.settle(ctx.now);
    switch (action) {
      case 'GetRepository':
        return this.getRepository(p, ctx);
      case 'ListRepository':
        return this.listRepository(p, ctx);
      case 'ListRepoTag':
        return this.listRepoTag(p, ctx);
      case 'GetRepoTag':
        return this.getRepoTag(p, ctx);
      case 'DeleteRepoTag':
        return this.deleteRepoTag(p, ctx);
      case 'CreateRepoSyncTask':
        return this.createRepoSyncTask(p, ctx);
      case 'GetRepoSyncTask':
        return this.getRepoSyncTask(p, ctx);
      case 'ListRepoSyncTask':
        return this.listRepoSyncTask(p, ctx);
      case 'CancelRepoSyncTask':
        return this.cancelRepoSyncTask(p, ctx);
      case 'CreateRepoTrigger':
        return this.createRepoTrigger(p, ctx);
      case 'ListRepoTrigger':
        return this.listRepoTrigger(p, ctx);
      case 'DeleteRepoTrigger':
        return this.deleteRepoTrigger(p, ctx);
      case 'GetAuthorizationToken':
        return this.getAuthorizationToken(p, ctx);
      default:
        throw new AlibabaApiError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
    }
  }

  /** A repository as ListRepository lists it (GetRepository adds `Detail`). */
  private repoFields(r: AcrRepo) {
    return {
      InstanceId: r.instanceId,
      ResourceGroupId: resourceGroupOf(r.instanceId),
      RepoId: r.repoId,
      RepoName: r.name,
      RepoNamespaceName: r.namespace,
      RepoStatus: 'NORMAL',
      RepoType: r.repoType,
      RepoBuildType: 'MANUAL',
      TagImmutability: false,
      Summary: '',
      CreateTime: r.createTime,
      ModifiedTime: r.modifiedTime,
    };
  }

  private getRepository(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    let repo: AcrRepo;
    if (p.RepoId) repo = this.repoById(inst, p.RepoId);
    else {
      const ns = required(p, 'RepoNamespaceName');
      repo = this.repoByName(inst, ns, required(p, 'RepoName'));
    }
    return { ...this.repoFields(repo), Detail: '' };
  }

  private listRepository(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const status = p.RepoStatus || 'ALL';
    if (!['NORMAL', 'DELETING', 'DELETED', 'ALL'].includes(status)) throw invalidParameter('RepoStatus', 'must be NORMAL, DELETING, DELETED or ALL');
    const all = [...this.repos(inst)]
      .filter((r) => !p.RepoNamespaceName || r.namespace === p.RepoNamespaceName)
      .filter((r) => !p.RepoName || r.name === p.RepoName)
      .filter(() => status === 'ALL' || status === 'NORMAL')
      .sort((a, b) => b.createTime - a.createTime || a.repoId.localeCompare(b.repoId));
    const byToken = p.NextToken !== undefined || p.MaxResults !== undefined;
    const pageSize = byToken ? optionalInt(p, 'MaxResults', 30, 1, 100) : optionalInt(p, 'PageSize', 30, 1, 100);
    const offset = byToken ? offsetOf(p.NextToken) : (optionalInt(p, 'PageNo', 1, 1, 1_000_000) - 1) * pageSize;
    const next = offset + pageSize < all.length ? tokenOf(offset + pageSize) : '';
    return {
      PageNo: Math.floor(offset / pageSize) + 1,
      PageSize: pageSize,
      MaxResults: pageSize,
      NextToken: next,
      TotalCount: String(all.length),
      Repositories: all.slice(offset, offset + pageSize).map((r) => this.repoFields(r)),
    };
  }

  /** GetRepoTag: one tag of a repository; Digest is bare hex, as the reference's example shows. */
  private getRepoTag(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    const tag = required(p, 'Tag');
    const t = repo.tags.get(tag);
    if (!t) throw new AlibabaApiError(404, 'TAG_NOT_EXIST', `tag ${tag} does not exist in ${repo.namespace}/${repo.name}`);
    return { Tag: tag, Digest: t.digest.replace(/^sha256:/, ''), ImageId: t.digest.slice(7, 19), ImageSize: t.size, ImageCreate: t.pushedAt, ImageUpdate: t.pushedAt, Status: 'NORMAL' };
  }

  /** DeleteRepoTag: `InstanceId`, `RepoId`, `Tag`; answers the bare envelope. */
  private deleteRepoTag(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    const tag = required(p, 'Tag');
    if (!repo.tags.delete(tag)) throw new AlibabaApiError(404, 'TAG_NOT_EXIST', `tag ${tag} does not exist in ${repo.namespace}/${repo.name}`);
    this.deleteCalls.push({ instanceId: inst.instanceId, namespace: repo.namespace, repo: repo.name, tag });
    return {};
  }

  private listRepoTag(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    const pageNo = optionalInt(p, 'PageNo', 1, 1, 1_000_000);
    const pageSize = optionalInt(p, 'PageSize', 30, 1, 100);
    const all = [...repo.tags.entries()].sort((a, b) => b[1].pushedAt - a[1].pushedAt || a[0].localeCompare(b[0]));
    return {
      PageNo: pageNo,
      PageSize: pageSize,
      TotalCount: String(all.length),
      Images: page(all, pageNo, pageSize).map(([tag, t]) => ({
        Tag: tag,
        Digest: t.digest.replace(/^sha256:/, ''),
        ImageId: t.digest.slice(7, 19),
        ImageSize: t.size,
        ImageCreate: t.pushedAt,
        ImageUpdate: t.pushedAt,
        Status: 'NORMAL',
      })),
    };
  }

  private createRepoSyncTask(p: Params, ctx: { accountId: string; now: number }) {
    // Every required parameter, in the order of the reference page (seed 004); RegionId is the
    // page's but not the generated SDK's, so it is checked only when sent.
    const names = ['InstanceId', 'RepoId', 'Tag', 'TargetInstanceId', 'TargetNamespace', 'TargetRegionId', 'TargetRepoName', 'TargetTag'] as const;
    const v = Object.fromEntries(names.map((n) => [n, required(p, n)])) as Record<(typeof names)[number], string>;
    for (const [field, check] of [
      ['Tag', imageTag],
      ['TargetTag', imageTag],
      ['TargetNamespace', acrNamespace],
      ['TargetRepoName', acrRepository],
    ] as const) {
      const problem = check(v[field]);
      if (problem) throw invalidParameter(field, problem);
    }
    const override = optionalBool(p, 'Override', false);
    const source = this.instanceFor(v.InstanceId, ctx.accountId);
    if (p.RegionId !== undefined && source.region !== p.RegionId) throw new AlibabaApiError(400, 'INSTANCE_NOT_EXIST', 'Instance is not exist.');
    const target = this.instances.get(v.TargetInstanceId);
    if (!target || target.region !== v.TargetRegionId) throw new AlibabaApiError(400, 'INSTANCE_NOT_EXIST', 'Target instance is not exist.');
    const crossUser = target.accountId !== ctx.accountId;
    if (crossUser) {
      if (!p.TargetUserId) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "TargetUserId" that is mandatory for processing the request is not supplied.');
      if (p.TargetUserId !== target.accountId) throw new AlibabaApiError(403, 'NoPrivilege', 'Access denied for this user.');
    } else if (p.TargetUserId && p.TargetUserId !== target.accountId) {
      throw new AlibabaApiError(403, 'NoPrivilege', 'Access denied for this user.');
    }
    const repo = this.repoById(source, v.RepoId);
    const tag = repo.tags.get(v.Tag);
    if (!tag) throw new AlibabaApiError(400, 'TAG_NOT_EXIST', 'Tag is not exist.');
    const src = { instanceId: source.instanceId, region: source.region, namespace: repo.namespace, repo: repo.name, tag: v.Tag, repoId: repo.repoId, digest: tag.digest, size: tag.size };
    const dst: ImageRef = { instanceId: target.instanceId, region: target.region, namespace: v.TargetNamespace, repo: v.TargetRepoName, tag: v.TargetTag };
    const total = this.duration();
    const pendingMs = Math.round(total * 0.2);
    const task: SyncTask = {
      syncTaskId: randomId(this.env.random, 'rst-'),
      syncBatchTaskId: uuidFrom(this.env.random),
      source: src,
      target: dst,
      override,
      crossUser,
      createTime: ctx.now,
      pendingMs,
      syncMs: total - pendingMs,
      forced: this.takeOutcome(src, dst),
    };
    this.tasks.push(task);
    this.calls.push({ at: ctx.now, syncTaskId: task.syncTaskId, source: { ...src }, target: { ...dst } });
    return { SyncTaskId: task.syncTaskId };
  }

  private findTask(instance: AcrInstance, syncTaskId: string): SyncTask {
    const t = this.tasks.find((x) => x.syncTaskId === syncTaskId && x.source.instanceId === instance.instanceId);
    if (!t) throw new AlibabaApiError(400, 'SYNC_TASK_NOT_EXIST', 'Sync task is not exist.');
    return t;
  }

  private imageFields(ref: ImageRef) {
    return { InstanceId: ref.instanceId, RegionId: ref.region, RepoNamespaceName: ref.namespace, RepoName: ref.repo, ImageTag: ref.tag };
  }

  private getRepoSyncTask(p: Params, ctx: { accountId: string; now: number }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const t = this.findTask(inst, required(p, 'SyncTaskId'));
    const s = this.statusOf(t, ctx.now);
    const done = s.status === 'SUCCESS';
    const layers = layersOf(t);
    return {
      SyncTaskId: t.syncTaskId,
      SyncBatchTaskId: t.syncBatchTaskId,
      SyncRuleId: '',
      TaskStatus: s.status,
      TaskTrigger: 'INITIATIVE',
      ...(s.issue ? { TaskIssue: s.issue } : {}),
      Progress: done ? 1 : 0,
      SyncedSize: done ? t.source.size : 0,
      CrossUser: t.crossUser,
      SyncTransAccelerate: false,
      ImageFrom: this.imageFields(t.source),
      ImageTo: this.imageFields(t.target),
      LayerTasks: layers.map((l) => ({
        ArtifactDigest: t.source.digest,
        Digest: l.digest,
        Size: l.size,
        SyncLayerTaskId: l.id,
        SyncedSize: done ? l.size : 0,
        TaskStatus: s.status,
      })),
    };
  }

  private listRepoSyncTask(p: Params, ctx: { accountId: string; now: number }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const pageNo = optionalInt(p, 'PageNo', 1, 1, 1_000_000);
    const pageSize = optionalInt(p, 'PageSize', 30, 1, 100);
    const matches = (src: { namespace: string; repo: string; tag: string }) =>
      (!p.RepoNamespaceName || src.namespace === p.RepoNamespaceName) && (!p.RepoName || src.repo === p.RepoName) && (!p.Tag || src.tag === p.Tag);
    const own = this.tasks
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => t.source.instanceId === inst.instanceId && matches(t.source))
      .filter(({ t }) => !p.SyncRecordId || t.syncBatchTaskId === p.SyncRecordId)
      .map(({ t, i }) => ({ createTime: t.createTime as number | undefined, i, item: () => this.listedTask(t, ctx.now) }));
    const foreign =
      this.env.realism.on('acr.foreign-tasks') && matches(FOREIGN_SOURCE) && !p.SyncRecordId
        ? foreignSyncTasks(inst, ctx.now).map((f, i) => ({ createTime: f.createTime, i: -1 - i, item: () => f.item }))
        : [];
    // Newest first; ties (same virtual ms) keep reverse creation order.
    const all = [...own, ...foreign].sort((a, b) => (b.createTime ?? Infinity) - (a.createTime ?? Infinity) || b.i - a.i);
    return {
      PageNo: pageNo,
      PageSize: pageSize,
      TotalCount: String(all.length),
      SyncTasks: page(all, pageNo, pageSize).map((x) => x.item()),
    };
  }

  private listedTask(t: SyncTask, now: number) {
    const s = this.statusOf(t, now);
    return {
      CreateTime: t.createTime,
      ModifedTime: s.modifiedTime,
      ModifiedTime: s.modifiedTime,
      SyncTaskId: t.syncTaskId,
      SyncBatchTaskId: t.syncBatchTaskId,
      SyncRuleId: '',
      TaskStatus: s.status,
      TaskTrigger: 'INITIATIVE',
      ...(s.issue ? { TaskIssue: s.issue } : {}),
      CrossUser: t.crossUser,
      CustomLink: false,
      LinkId: '',
      SyncTransAccelerate: false,
      ImageFrom: this.imageFields(t.source),
      ImageTo: this.imageFields(t.target),
    };
  }

  private cancelRepoSyncTask(p: Params, ctx: { accountId: string; now: number }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const t = this.findTask(inst, required(p, 'SyncTaskId'));
    const { status } = this.statusOf(t, ctx.now);
    if (status === 'PENDING' || status === 'SYNCHRONIZING' || status === 'RETRYING') t.final = { status: 'CANCELED', at: ctx.now };
    else if (status === 'SUCCESS' || status === 'ERROR') throw new AlibabaApiError(400, 'SYNC_TASK_STATUS_INVALID', 'Sync task status is invalid.');
    return {};
  }

  private createRepoTrigger(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    const name = required(p, 'TriggerName');
    const url = required(p, 'TriggerUrl');
    const type = required(p, 'TriggerType');
    if (type !== 'ALL' && type !== 'TAG_LIST' && type !== 'TAG_REG_EXP') throw invalidParameter('TriggerType', 'must be ALL, TAG_LIST or TAG_REG_EXP');
    if (!/^https?:\/\//.test(url)) throw invalidParameter('TriggerUrl', 'must be an http(s) URL');
    const tag = p.TriggerTag ?? '';
    if (type !== 'ALL' && !tag) throw invalidParameter('TriggerTag', `is required when TriggerType is ${type}`);
    if (type === 'TAG_REG_EXP') {
      try {
        new RegExp(tag);
      } catch {
        throw invalidParameter('TriggerTag', 'must be a valid regular expression');
      }
    }
    if (repo.triggers.some((t) => t.triggerName === name)) throw new AlibabaApiError(400, 'TRIGGER_NAME_EXIST', 'Trigger name already exists.');
    const trigger: AcrTrigger = { triggerId: randomId(this.env.random, 'crw-'), triggerName: name, triggerType: type, triggerUrl: url, triggerTag: tag };
    repo.triggers.push(trigger);
    return { TriggerId: trigger.triggerId };
  }

  private listRepoTrigger(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    return {
      // RepoEvent: the reference pages' one example value; these triggers fire on every matching push.
      Triggers: repo.triggers.map((t) => ({
        TriggerId: t.triggerId,
        TriggerName: t.triggerName,
        TriggerType: t.triggerType,
        TriggerUrl: t.triggerUrl,
        TriggerTag: t.triggerTag,
        RepoEvent: 'BUILD_SUCCESS',
      })),
    };
  }

  private deleteRepoTrigger(p: Params, ctx: { accountId: string }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    const repo = this.repoById(inst, required(p, 'RepoId'));
    const id = required(p, 'TriggerId');
    const before = repo.triggers.length;
    repo.triggers = repo.triggers.filter((t) => t.triggerId !== id);
    if (repo.triggers.length === before) throw new AlibabaApiError(400, 'TRIGGER_NOT_EXIST', 'Trigger is not exist.');
    return {};
  }

  /** Temporary `docker login` credentials of an instance's registry (valid 1 h of virtual time). */
  private getAuthorizationToken(p: Params, ctx: { accountId: string; now: number }) {
    const inst = this.instanceFor(required(p, 'InstanceId'), ctx.accountId);
    return this.registryCredentials.issue(inst.instanceId, inst.accountId, ctx.now);
  }

  snapshot(now: number) {
    this.settle(now);
    return {
      instances: [...this.instances.values()].map((i) => ({
        instanceId: i.instanceId,
        region: i.region,
        accountId: i.accountId,
        namespaces: [...i.namespaces.entries()].map(([ns, repos]) => ({
          name: ns,
          repos: [...repos.values()].map((r) => ({
            repoId: r.repoId,
            name: r.name,
            tags: Object.fromEntries([...r.tags].map(([k, t]) => [k, t.digest])),
            triggers: r.triggers.map((t) => ({ ...t, triggerUrl: maskUrl(t.triggerUrl) })),
          })),
        })),
      })),
      syncTasks: this.tasks.map((t) => this.view(t, now)),
      createCalls: this.calls.length,
      outcomes: this.listOutcomes(),
    };
  }
}

export function triggerMatches(t: AcrTrigger, tag: string): boolean {
  if (t.triggerType === 'ALL') return true;
  if (t.triggerType === 'TAG_LIST')
    return t.triggerTag
      .split(',')
      .map((s) => s.trim())
      .includes(tag);
  try {
    return new RegExp(`^(?:${t.triggerTag})$`).test(tag);
  } catch {
    return false;
  }
}

/** Tasks that never end by themselves: only a cancel stops them. */
function endless(t: SyncTask): boolean {
  return t.forced?.kind === 'stuck' || t.forced?.kind === 'retrying';
}

/** The resource group every repository of an instance is in (stable per instance). */
function resourceGroupOf(instanceId: string): string {
  return 'rg-' + stableHex('resource-group', instanceId).slice(0, 15);
}

/** ListRepository's NextToken: an offset, opaque to callers. */
function tokenOf(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function offsetOf(token: string | undefined): number {
  if (!token) return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw invalidParameter('NextToken', 'is not a token this operation returned');
  return Number(m[1]);
}

function sizeOf(digest: string): number {
  return 1_000_000 + (parseInt(digest.slice(7, 13) || '0', 16) % 50_000_000);
}

function layersOf(t: SyncTask): { id: string; digest: string; size: number }[] {
  const n = 2 + (parseInt(t.source.digest.slice(7, 8) || '0', 16) % 3);
  let left = t.source.size;
  return Array.from({ length: n }, (_, i) => {
    const size = i === n - 1 ? left : Math.floor(t.source.size / n);
    left -= size;
    const h = stableHex(t.source.digest, String(i));
    return { id: 'rslt-' + stableHex(t.syncTaskId, String(i)).slice(0, 16), digest: 'sha256:' + h, size };
  });
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16))
    .join('')
    .toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
