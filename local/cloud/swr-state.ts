import { createHash } from 'node:crypto';
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
  final?: { status: SyncJobStatus; at: number };
}

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
  private tasks: TaskRecord[] = [];
  /** Keys of tasks that existed and were deleted: deleting again is "already gone". */
  private deletedTasks = new Set<string>();
  private jobs: JobRecord[] = [];
  private planned: { match: SyncJobMatch; outcome: ForcedOutcome; remaining: number }[] = [];
  private nextTaskId = 1;
  private nextJobId = 1;
  private digestCounter = 0;

  readonly domainName: string;
  readonly domainId: string;

  constructor(private readonly env: LocalCloudEnv) {
    this.domainName = env.seed.huawei.domain;
    this.domainId = hexId('domain', this.domainName);
    this.reset();
  }

  reset(): void {
    this.registry = new Map();
    this.tasks = [];
    this.deletedTasks = new Set();
    this.jobs = [];
    this.planned = [];
    this.nextTaskId = 1;
    this.nextJobId = 1;
    this.digestCounter = 0;
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

  /** Forces the outcome of an unfinished job; `stuck` keeps it running until forced again. */
  forceJob(id: number, outcome: ForcedOutcome, now = this.env.clock.now()): void {
    this.settle(now);
    const job = this.jobs.find((j) => j.id === id);
    if (!job) throw new Error(`sync job ${id} does not exist`);
    if (job.final) throw new Error(`sync job ${id} already ended as ${job.final.status}`);
    job.forced = outcome;
    // A job released from `stuck` after its planned end finishes now.
    if (job.doneAt < now) job.doneAt = now;
  }

  /** The next `count` jobs created that match `match` end as `outcome`. */
  planOutcome(match: SyncJobMatch, outcome: ForcedOutcome, count = 1): void {
    this.planned.push({ match, outcome, remaining: count });
  }

  settle(now: number): void {
    for (const job of this.jobs) {
      if (job.final || now < job.doneAt || job.forced === 'stuck') continue;
      job.final = { status: this.finish(job), at: job.doneAt };
    }
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

  private statusAt(job: JobRecord, now: number): { status: SyncJobStatus; updatedAt: number } {
    if (job.final) return { status: job.final.status, updatedAt: job.final.at };
    if (now < job.startAt) return { status: 'waiting', updatedAt: job.createdAt };
    return { status: 'running', updatedAt: job.startAt };
  }

  listJobs(region: string, namespace: string, repo: string, now: number): SyncJob[] {
    this.settle(now);
    return this.jobs.filter((j) => j.region === region && j.namespace === namespace && j.repo === repo).map((j) => this.view(j, now));
  }

  findJobs(match: SyncJobMatch = {}, now = this.env.clock.now()): (SyncJob & { region: string })[] {
    this.settle(now);
    return this.jobs.filter((j) => matches(match, j)).map((j) => ({ ...this.view(j, now), region: j.region }));
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
      syncJobs: this.jobs.map((j) => ({ region: j.region, digest: j.digest, forced: j.forced ?? null, ...this.view(j, now) })),
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
