import { createHash } from 'node:crypto';
import { Pruner } from './task-cap.ts';
import type { LocalCloudEnv } from './types.ts';

/**
 * SWR's data model inside the local cloud: organizations, repositories and tags per region,
 * automatic sync tasks (sync_repo) and sync job records (sync_job). Job progress is a pure
 * function of virtual time: each job has a start and an end instant fixed at creation, and
 * `settle(now)` applies the outcome of every job whose end has passed (copying the tag into
 * the remote region). Callers settle before reading, so no timers run.
 */
export type SyncJobStatus = 'waiting' | 'running' | 'success' | 'failed' | 'timeout' | 'cancel' | 'existed';
/** What a test can force a job to end as; `stuck` keeps it running forever. */
export type ForcedOutcome = 'success' | 'failed' | 'timeout' | 'cancel' | 'stuck';

export interface SyncRepo {
  createdAt: string;
  domainID: string;
  domainName: string;
  id: number;
  namespace: string;
  override: boolean;
  remoteNamespace: string;
  remoteRegionId: string;
  repoName: string;
  syncAuto: boolean;
  updatedAt: string;
}

export interface SyncJob {
  createdAt: string;
  domainID: string;
  domainName: string;
  id: number;
  namespace: string;
  override: boolean;
  remoteNamespace: string;
  remoteRegionId: string;
  repoName: string;
  status: string;
  syncOperatorId: string;
  syncOperatorName: string;
  tag: string;
  updatedAt: string;
}

interface TaskRecord {
  id: number;
  region: string;
  namespace: string;
  repo: string;
  remoteRegionId: string;
  remoteNamespace: string;
  syncAuto: boolean;
  override: boolean;
  createdAt: number;
}

interface JobRecord {
  id: number;
  region: string;
  namespace: string;
  repo: string;
  tag: string;
  digest: string;
  remoteRegionId: string;
  remoteNamespace: string;
  override: boolean;
  operatorId: string;
  operatorName: string;
  createdAt: number;
  startAt: number;
  doneAt: number;
  forced?: ForcedOutcome;
  /** A status SWR may add that Ferry does not know, listed while the job is unfinished. */
  reported?: string;
  final?: { status: SyncJobStatus; at: number };
  /** An automatic sync job of someone else's task (realism `swr.foreign-jobs`): never settles. */
  foreign?: ForeignJob;
}

interface ForeignJob {
  status: string;
  /** Fields the record leaves out. */
  omit: readonly (keyof SyncJob)[];
}

/**
 * What `swr.foreign-jobs` lists around Ferry's jobs, in turn: the same tag to another organization,
 * another tag to the same remote, and a record without the fields Ferry reads (tag). Statuses are
 * ones Ferry does not know; optional fields are missing.
 */
const FOREIGN_JOBS: ReadonlyArray<{ tag: (tag: string) => string; remoteNamespace: (ns: string) => string } & ForeignJob> = [
  { tag: (t) => t, remoteNamespace: () => 'mirror-auto', status: 'syncing', omit: ['createdAt', 'updatedAt', 'domainName', 'syncOperatorName'] },
  { tag: (t) => `${t}-auto`, remoteNamespace: (ns) => ns, status: 'pending_retry', omit: ['override', 'domainID', 'syncOperatorId', 'updatedAt'] },
  { tag: () => '', remoteNamespace: (ns) => ns, status: 'queued', omit: ['tag', 'createdAt', 'domainName'] },
];

export interface SyncJobMatch {
  region?: string;
  namespace?: string;
  repo?: string;
  tag?: string;
  remoteRegionId?: string;
}

export interface SwrImageRef {
  region: string;
  namespace: string;
  repo: string;
  tag: string;
}

/** `2020-03-12T08:11:36.518000Z`: SWR prints microseconds. */
export function swrTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export function hexId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

type Repos = Map<string, Map<string, string>>; // repo -> tag -> digest

export class SwrState {
  /** region -> namespace -> repos */
  private registry = new Map<string, Map<string, Repos>>();
  /** When each tag was last pushed (`region/namespace/repo:tag` → epoch ms); seeded tags have no time. */
  private pushedAt = new Map<string, number>();
  private tasks: TaskRecord[] = [];
  /** Keys of tasks that existed and were deleted: deleting again is "already gone". */
  private deletedTasks = new Set<string>();
  /** Every tag DeleteRepoTag removed. */
  deletedTags: { region: string; namespace: string; repo: string; tag: string }[] = [];
  private jobs: JobRecord[] = [];
  private readonly jobPruner: Pruner<JobRecord>;
  private planned: { match: SyncJobMatch; outcome: ForcedOutcome; remaining: number }[] = [];
  private nextTaskId = 1;
  private nextJobId = 1;
  private digestCounter = 0;
  private foreignCounter = 0;

  readonly domainName: string;
  readonly domainId: string;

  constructor(private readonly env: LocalCloudEnv) {
    this.domainName = env.seed.huawei.domain;
    this.domainId = hexId('domain', this.domainName);
    this.jobPruner = new Pruner<JobRecord>({ keep: env.seed.keepFinishedTasks, scopeOf: (j) => j.region, finishedAt: (j) => j.final?.at });
    this.reset();
  }

  reset(): void {
    this.registry = new Map();
    this.pushedAt = new Map();
    this.tasks = [];
    this.deletedTasks = new Set();
    this.deletedTags = [];
    this.jobs = [];
    this.jobPruner.reset();
    this.planned = [];
    this.nextTaskId = 1;
    this.nextJobId = 1;
    this.digestCounter = 0;
    this.foreignCounter = 0;
    for (const region of this.env.seed.huawei.regions) this.registry.set(region, new Map());
    for (const ns of this.env.seed.huawei.namespaces) {
      this.createNamespace(ns.region, ns.name);
      for (const repo of ns.repos) {
        const tags = this.ensureRepo(ns.region, ns.name, repo.name);
        for (const [tag, digest] of Object.entries(repo.tags)) tags.set(tag, digest);
      }
    }
  }

  regions(): string[] {
    return [...this.registry.keys()];
  }

  hasRegion(region: string): boolean {
    return this.registry.has(region);
  }

  hasNamespace(region: string, namespace: string): boolean {
    return this.registry.get(region)?.has(namespace) ?? false;
  }

  /** An organization's repositories (name → tags), undefined when the organization does not exist. */
  reposOf(region: string, namespace: string): ReadonlyMap<string, ReadonlyMap<string, string>> | undefined {
    return this.registry.get(region)?.get(namespace);
  }

  /** When a tag was last pushed (epoch ms), undefined for a seeded one. */
  tagPushedAt(region: string, namespace: string, repo: string, tag: string): number | undefined {
    return this.pushedAt.get(`${region}/${namespace}/${repo}:${tag}`);
  }

  tagsOf(region: string, namespace: string, repo: string): Map<string, string> | undefined {
    return this.registry.get(region)?.get(namespace)?.get(repo);
  }

  createNamespace(region: string, namespace: string): void {
    let namespaces = this.registry.get(region);
    if (!namespaces) {
      namespaces = new Map();
      this.registry.set(region, namespaces);
    }
    if (!namespaces.has(namespace)) namespaces.set(namespace, new Map());
  }

  private ensureRepo(region: string, namespace: string, repo: string): Map<string, string> {
    this.createNamespace(region, namespace);
    const repos = this.registry.get(region)!.get(namespace)!;
    let tags = repos.get(repo);
    if (!tags) {
      tags = new Map();
      repos.set(repo, tags);
    }
    return tags;
  }

  /**
   * Puts a tag into a repository (creating region, organization and repository as needed),
   * then starts a job for every automatic sync task of that repository, as SWR does for pushes.
   */
  pushImage(ref: SwrImageRef, digest?: string, now = this.env.clock.now()): { digest: string; jobIds: number[] } {
    this.settle(now);
    const d =
      digest ??
      'sha256:' +
        createHash('sha256')
          .update(`${ref.region}/${ref.namespace}/${ref.repo}:${ref.tag}#${++this.digestCounter}`)
          .digest('hex');
    this.ensureRepo(ref.region, ref.namespace, ref.repo).set(ref.tag, d);
    this.pushedAt.set(`${ref.region}/${ref.namespace}/${ref.repo}:${ref.tag}`, now);
    const jobIds: number[] = [];
    for (const task of this.tasks) {
      if (!task.syncAuto || task.region !== ref.region || task.namespace !== ref.namespace || task.repo !== ref.repo) continue;
      jobIds.push(this.startJob(ref, task.remoteRegionId, task.remoteNamespace, task.override, now, 'auto', 'auto').id);
    }
    return { digest: d, jobIds };
  }

  // ---------- automatic sync tasks ----------

  private taskKey(region: string, namespace: string, repo: string, remoteRegionId: string, remoteNamespace: string): string {
    return [region, namespace, repo, remoteRegionId, remoteNamespace].join('\0');
  }

  findTask(region: string, namespace: string, repo: string, remoteRegionId: string, remoteNamespace: string): TaskRecord | undefined {
    return this.tasks.find((t) => t.region === region && t.namespace === namespace && t.repo === repo && t.remoteRegionId === remoteRegionId && t.remoteNamespace === remoteNamespace);
  }

  createTask(t: Omit<TaskRecord, 'id' | 'createdAt'>, now: number): TaskRecord {
    const record: TaskRecord = { ...t, id: this.nextTaskId++, createdAt: now };
    this.tasks.push(record);
    this.deletedTasks.delete(this.taskKey(t.region, t.namespace, t.repo, t.remoteRegionId, t.remoteNamespace));
    return record;
  }

  /** `deleted`, `gone` (existed once, already deleted) or `missing` (never existed). */
  deleteTask(region: string, namespace: string, repo: string, remoteRegionId: string, remoteNamespace: string): 'deleted' | 'gone' | 'missing' {
    const key = this.taskKey(region, namespace, repo, remoteRegionId, remoteNamespace);
    const task = this.findTask(region, namespace, repo, remoteRegionId, remoteNamespace);
    if (!task) return this.deletedTasks.has(key) ? 'gone' : 'missing';
    this.tasks = this.tasks.filter((t) => t !== task);
    this.deletedTasks.add(key);
    return 'deleted';
  }

  /**
   * Automatic sync tasks someone else made, as `swr.foreign-jobs` lists them beside Ferry's: one with
   * optional fields missing, one without the remote Ferry matches on.
   */
  foreignTasks(namespace: string, repo: string): Partial<SyncRepo>[] {
    const common = { namespace, repoName: repo, syncAuto: true };
    return [
      { ...common, id: 90_001, remoteRegionId: 'ap-southeast-1', remoteNamespace: 'mirror-auto' },
      { ...common, id: 90_002, remoteRegionId: 'cn-south-1', override: true, createdAt: swrTime(0) },
    ];
  }

  listTasks(region: string, namespace: string, repo: string): SyncRepo[] {
    return this.tasks
      .filter((t) => t.region === region && t.namespace === namespace && t.repo === repo)
      .map((t) => ({
        createdAt: swrTime(t.createdAt),
        domainID: this.domainId,
        domainName: this.domainName,
        id: t.id,
        namespace: t.namespace,
        override: t.override,
        remoteNamespace: t.remoteNamespace,
        remoteRegionId: t.remoteRegionId,
        repoName: t.repo,
        syncAuto: t.syncAuto,
        updatedAt: swrTime(t.createdAt),
      }));
  }

  // ---------- sync jobs ----------

  startJob(ref: SwrImageRef, remoteRegionId: string, remoteNamespace: string, override: boolean, now: number, operatorId: string, operatorName: string): JobRecord {
    const { min, max } = this.env.seed.syncDurationMs;
    const duration = Math.round(min + (Math.max(max, min) - min) * this.env.random());
    const digest = this.tagsOf(ref.region, ref.namespace, ref.repo)?.get(ref.tag) ?? '';
    const job: JobRecord = {
      id: this.nextJobId++,
      ...ref,
      digest,
      remoteRegionId,
      remoteNamespace,
      override,
      operatorId,
      operatorName,
      createdAt: now,
      startAt: now + Math.round(duration * 0.2),
      doneAt: now + duration,
    };
    const plan = this.planned.find((p) => matches(p.match, job));
    if (plan) {
      job.forced = plan.outcome;
      if (--plan.remaining <= 0) this.planned = this.planned.filter((p) => p !== plan);
    }
    this.jobs.push(job);
    return job;
  }

  /** Starts the next automatic sync job of someone else's task beside Ferry's (realism `swr.foreign-jobs`). */
  startForeignJob(ref: SwrImageRef, remoteRegionId: string, remoteNamespace: string, now: number): void {
    const kind = FOREIGN_JOBS[this.foreignCounter++ % FOREIGN_JOBS.length]!;
    const { status, omit } = kind;
    const job = { id: this.nextJobId++, ...ref, tag: kind.tag(ref.tag), digest: '', remoteRegionId, remoteNamespace: kind.remoteNamespace(remoteNamespace) };
    this.jobs.push({ ...job, override: false, operatorId: 'auto', operatorName: 'auto', createdAt: now, startAt: now, doneAt: now, foreign: { status, omit } });
  }

  /** Forces the outcome of an unfinished job; `stuck` keeps it running until forced again. */
  forceJob(id: number, outcome: ForcedOutcome, now = this.env.clock.now()): void {
    const job = this.ownJob(id, now);
    job.forced = outcome;
    delete job.reported;
    // A job released from `stuck` after its planned end finishes now.
    if (job.doneAt < now) job.doneAt = now;
  }

  /** Lists an unfinished job with `status` (one Ferry does not know) until it is forced again. */
  reportStatus(id: number, status: string, now = this.env.clock.now()): void {
    const job = this.ownJob(id, now);
    job.forced = 'stuck';
    job.reported = status;
  }

  private ownJob(id: number, now: number): JobRecord {
    this.settle(now);
    const job = this.jobs.find((j) => j.id === id && !j.foreign);
    if (!job) throw new Error(`sync job ${id} does not exist`);
    if (job.final) throw new Error(`sync job ${id} already ended as ${job.final.status}`);
    return job;
  }

  /** The next `count` jobs created that match `match` end as `outcome`. */
  planOutcome(match: SyncJobMatch, outcome: ForcedOutcome, count = 1): void {
    this.planned.push({ match, outcome, remaining: count });
  }

  settle(now: number): void {
    for (const job of this.jobs) {
      if (job.final || job.foreign || now < job.doneAt || job.forced === 'stuck') continue;
      job.final = { status: this.finish(job), at: job.doneAt };
    }
    this.jobs = this.jobPruner.maybePrune(this.jobs);
  }

  private finish(job: JobRecord): SyncJobStatus {
    if (job.forced && job.forced !== 'success') return job.forced as SyncJobStatus;
    if (!this.hasNamespace(job.remoteRegionId, job.remoteNamespace)) return 'failed';
    const target = this.ensureRepo(job.remoteRegionId, job.remoteNamespace, job.repo);
    const existing = target.get(job.tag);
    if (existing === job.digest) return 'existed';
    if (existing !== undefined && !job.override) return 'failed';
    target.set(job.tag, job.digest);
    return 'success';
  }

  private statusAt(job: JobRecord, now: number): { status: string; updatedAt: number } {
    if (job.final) return { status: job.final.status, updatedAt: job.final.at };
    if (job.foreign) return { status: job.foreign.status, updatedAt: job.createdAt };
    if (job.reported) return { status: job.reported, updatedAt: now };
    if (now < job.startAt) return { status: 'waiting', updatedAt: job.createdAt };
    return { status: 'running', updatedAt: job.startAt };
  }

  /** A repository's job records by id (`asc` or `desc`), someone else's included. */
  listJobs(region: string, namespace: string, repo: string, now: number, order: 'asc' | 'desc'): Partial<SyncJob>[] {
    this.settle(now);
    return this.jobs
      .filter((j) => j.region === region && j.namespace === namespace && j.repo === repo)
      .sort((a, b) => (order === 'asc' ? a.id - b.id : b.id - a.id))
      .map((j) => this.recordOf(j, now));
  }

  /** Jobs started by Ferry's calls or pushes (not someone else's), for tests and the admin API. */
  findJobs(match: SyncJobMatch = {}, now = this.env.clock.now()): (SyncJob & { region: string })[] {
    this.settle(now);
    return this.jobs.filter((j) => !j.foreign && matches(match, j)).map((j) => ({ ...this.view(j, now), region: j.region }));
  }

  /** The record SWR lists: without the fields a foreign job leaves out. */
  private recordOf(j: JobRecord, now: number): Partial<SyncJob> {
    const record: Partial<SyncJob> = this.view(j, now);
    for (const field of j.foreign?.omit ?? []) delete record[field];
    return record;
  }

  private view(j: JobRecord, now: number): SyncJob {
    const { status, updatedAt } = this.statusAt(j, now);
    return {
      createdAt: swrTime(j.createdAt),
      domainID: this.domainId,
      domainName: this.domainName,
      id: j.id,
      namespace: j.namespace,
      override: j.override,
      remoteNamespace: j.remoteNamespace,
      remoteRegionId: j.remoteRegionId,
      repoName: j.repo,
      status,
      syncOperatorId: j.operatorId,
      syncOperatorName: j.operatorName,
      tag: j.tag,
      updatedAt: swrTime(updatedAt),
    };
  }

  snapshot(now: number): unknown {
    this.settle(now);
    const registry: Record<string, Record<string, Record<string, Record<string, string>>>> = {};
    for (const [region, namespaces] of this.registry) {
      registry[region] = {};
      for (const [ns, repos] of namespaces) {
        registry[region][ns] = {};
        for (const [repo, tags] of repos) registry[region][ns][repo] = Object.fromEntries(tags);
      }
    }
    return {
      registry,
      syncRepos: this.tasks.map((t) => ({ ...t, createdAt: swrTime(t.createdAt) })),
      syncJobs: this.jobs.map((j) => ({ region: j.region, digest: j.digest, forced: j.forced ?? null, foreign: j.foreign !== undefined, ...this.recordOf(j, now) })),
    };
  }
}

function matches(m: SyncJobMatch, j: { region: string; namespace: string; repo: string; tag: string; remoteRegionId: string }): boolean {
  return (
    (m.region === undefined || m.region === j.region) &&
    (m.namespace === undefined || m.namespace === j.namespace) &&
    (m.repo === undefined || m.repo === j.repo) &&
    (m.tag === undefined || m.tag === j.tag) &&
    (m.remoteRegionId === undefined || m.remoteRegionId === j.remoteRegionId)
  );
}
