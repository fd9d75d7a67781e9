import { AlibabaApiError, invalidParameter, missingParameter, optionalInt, page, randomId, type Params } from './alibaba-common.ts';
import { Pruner } from './task-cap.ts';
import type { LocalCloudEnv } from './types.ts';

/**
 * ECS (2014-05-26) asynchronous tasks: DescribeTasks, DescribeTaskAttribute, CancelTask.
 * Tasks are Processing until their virtual end time, then Finished (computed on read).
 * Documented choices: a cancelled task reads `Deleted` (one of the statuses older pages
 * list) with SupportCancel "false"; a stuck task stays Processing until cancelled; a task
 * created `cancellable: false` says SupportCancel "false" and CancelTask answers 403
 * CancelTaskFailed. DescribeTasks filters by TaskStatus only for Finished, Processing and Failed
 * (other values "do not take effect", as the model says), and by `ResourceIds.N`.
 *
 * Realism `ecs.foreign-tasks`: each region also has, from its first DescribeTasks on, an import
 * listed with every optional field missing, one that turns to a status Ferry does not know
 * (`Retrying`) after a minute, both running until cancelled, and listings carry an item
 * without TaskId.
 */
export type EcsTaskStatus = 'Processing' | 'Finished' | 'Failed' | 'Deleted' | typeof UNKNOWN_STATUS;

/** A status newer than the reference pages: still running, and cancellable. */
const UNKNOWN_STATUS = 'Retrying';
const QUERYABLE_STATUSES = new Set(['Finished', 'Processing', 'Failed']);

export interface EcsTask {
  taskId: string;
  regionId: string;
  action: string;
  resourceId: string;
  createdAt: number;
  durationMs: number;
  stuck: boolean;
  /** Ends Failed instead of Finished. */
  fails: boolean;
  /** False: SupportCancel "false" while it runs, and CancelTask refuses it. */
  cancellable: boolean;
  canceledAt?: number | undefined;
  /** Realism `ecs.foreign-tasks`: listed without its optional fields, or turning to an unknown status. */
  foreign?: 'sparse' | 'unknown-status' | undefined;
}

export interface EcsTaskInput {
  regionId: string;
  /** `ImportImage` (default), `ExportImage`, or any other action (not cancellable). */
  action?: string | undefined;
  stuck?: boolean | undefined;
  fails?: boolean | undefined;
  /** Virtual ms until Finished; default drawn from seed.syncDurationMs. */
  durationMs?: number | undefined;
  resourceId?: string | undefined;
  /** False: ECS will not cancel it (SupportCancel "false"). Default true. */
  cancellable?: boolean | undefined;
}

export interface EcsTaskView {
  taskId: string;
  regionId: string;
  action: string;
  status: EcsTaskStatus;
  supportCancel: boolean;
  resourceId: string;
  createdAt: number;
  finishedAt?: number | undefined;
}

const CANCELLABLE = new Set(['ImportImage', 'ExportImage']);

function running(status: EcsTaskStatus): boolean {
  return status === 'Processing' || status === UNKNOWN_STATUS;
}

/** `YYYY-MM-DDThh:mmZ`, the ECS time format. */
export function ecsTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + 'Z';
}

export class EcsState {
  tasks: EcsTask[] = [];
  private readonly pruner: Pruner<EcsTask>;

  constructor(private readonly env: LocalCloudEnv) {
    // Another caller's tasks (realism) are made once per region: never forgotten, or they would come back.
    this.pruner = new Pruner<EcsTask>({ keep: env.seed.keepFinishedTasks, scopeOf: (t) => t.regionId, finishedAt: (t) => (t.foreign ? undefined : this.view(t, env.clock.now()).finishedAt) });
  }

  reset(): void {
    this.tasks = [];
    this.pruner.reset();
  }

  private regions(): string[] {
    return this.env.seed.alibaba.ecsRegions;
  }

  createTask(input: EcsTaskInput, foreign?: EcsTask['foreign']): EcsTaskView {
    if (!this.regions().includes(input.regionId)) throw new Error(`ecs task: regionId "${input.regionId}" is not one of ${this.regions().join(', ')}`);
    const action = input.action ?? 'ImportImage';
    const { min, max } = this.env.seed.syncDurationMs;
    const durationMs = input.durationMs ?? Math.round(Math.min(min, max) + this.env.random() * Math.abs(max - min));
    if (!Number.isFinite(durationMs) || durationMs < 0) throw new Error('ecs task: durationMs must be a non-negative number');
    const task: EcsTask = {
      taskId: randomId(this.env.random, 't-', 20),
      regionId: input.regionId,
      action,
      resourceId: input.resourceId ?? randomId(this.env.random, 'm-', 20),
      createdAt: this.env.clock.now(),
      durationMs,
      stuck: input.stuck ?? false,
      fails: input.fails ?? false,
      cancellable: input.cancellable ?? true,
      ...(foreign ? { foreign } : {}),
    };
    this.tasks.push(task);
    this.tasks = this.pruner.maybePrune(this.tasks);
    return this.view(task, task.createdAt);
  }

  view(t: EcsTask, now: number): EcsTaskView {
    const end = t.createdAt + t.durationMs;
    let status: EcsTaskStatus;
    let finishedAt: number | undefined;
    if (t.canceledAt !== undefined) {
      status = 'Deleted';
      finishedAt = t.canceledAt;
    } else if (t.foreign === 'unknown-status' && now >= t.createdAt + 60_000) status = UNKNOWN_STATUS;
    else if (t.stuck || now < end) status = 'Processing';
    else {
      status = t.fails ? 'Failed' : 'Finished';
      finishedAt = end;
    }
    return {
      taskId: t.taskId,
      regionId: t.regionId,
      action: t.action,
      status,
      supportCancel: running(status) && CANCELLABLE.has(t.action) && t.cancellable,
      resourceId: t.resourceId,
      createdAt: t.createdAt,
      finishedAt,
    };
  }

  op(action: string, p: Params, now: number): Record<string, unknown> {
    switch (action) {
      case 'DescribeTasks':
        return this.describeTasks(p, now);
      case 'DescribeTaskAttribute':
        return this.describeTaskAttribute(p, now);
      case 'CancelTask':
        return this.cancelTask(p, now);
      default:
        throw new AlibabaApiError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
    }
  }

  private region(p: Params): string {
    const regionId = p.RegionId;
    if (!regionId) throw missingParameter('RegionId');
    return regionId;
  }

  private checkRegion(regionId: string): void {
    if (!this.regions().includes(regionId)) throw new AlibabaApiError(400, 'InvalidRegionId.NotFound', 'The specified RegionId does not exist.');
  }

  private find(regionId: string, taskId: string): EcsTask {
    const t = this.tasks.find((x) => x.taskId === taskId && x.regionId === regionId);
    if (!t) throw new AlibabaApiError(400, 'InvalidTaskId.NotFound', 'The specified "TaskId" is not found.');
    return t;
  }

  private taskFields(v: EcsTaskView, foreign: EcsTask['foreign']) {
    if (foreign === 'sparse') return { TaskId: v.taskId, TaskStatus: v.status };
    return {
      TaskId: v.taskId,
      TaskAction: v.action,
      TaskStatus: v.status,
      SupportCancel: String(v.supportCancel),
      CreationTime: ecsTime(v.createdAt),
      FinishedTime: v.finishedAt !== undefined ? ecsTime(v.finishedAt) : '',
      ResourceId: v.resourceId,
    };
  }

  private describeTasks(p: Params, now: number) {
    const regionId = this.region(p);
    this.checkRegion(regionId);
    const pageNumber = optionalInt(p, 'PageNumber', 1, 1, 1_000_000);
    const pageSize = optionalInt(p, 'PageSize', 10, 1, 100);
    let ids: string[] | undefined;
    if (p.TaskIds) {
      ids = p.TaskIds.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (ids.length > 100) throw invalidParameter('TaskIds', 'must list at most 100 task ids');
    }
    const statusFilter = p.TaskStatus && QUERYABLE_STATUSES.has(p.TaskStatus) ? p.TaskStatus : undefined;
    const resourceIds = Object.entries(p)
      .filter(([k]) => /^ResourceIds\.\d+$/.test(k))
      .map(([, v]) => v);
    if (this.env.realism.on('ecs.foreign-tasks')) this.foreignTasks(regionId);
    const start = p.StartTime ? Date.parse(p.StartTime) : undefined;
    const end = p.EndTime ? Date.parse(p.EndTime) : undefined;
    if (start !== undefined && Number.isNaN(start)) throw invalidParameter('StartTime', 'must be a UTC time like 2024-01-01T00:00Z');
    if (end !== undefined && Number.isNaN(end)) throw invalidParameter('EndTime', 'must be a UTC time like 2024-01-01T00:00Z');
    const all = this.tasks
      .filter((t) => t.regionId === regionId)
      .filter((t) => !ids || ids.includes(t.taskId))
      .filter((t) => !p.TaskAction || t.action === p.TaskAction)
      .filter((t) => resourceIds.length === 0 || resourceIds.includes(t.resourceId))
      .filter((t) => start === undefined || t.createdAt >= start)
      .filter((t) => end === undefined || t.createdAt <= end)
      .map((t) => ({ v: this.view(t, now), foreign: t.foreign }))
      .filter(({ v }) => !statusFilter || v.status === statusFilter)
      .reverse()
      .map(({ v, foreign }) => this.taskFields(v, foreign) as Record<string, unknown>);
    // Realism: an item without TaskId (the newest, so on the first page), in listings it could match.
    if (this.env.realism.on('ecs.foreign-tasks') && !ids && resourceIds.length === 0 && (!p.TaskAction || p.TaskAction === 'ImportImage') && (!statusFilter || statusFilter === 'Processing')) {
      all.unshift({ TaskAction: 'ImportImage', TaskStatus: 'Processing', SupportCancel: 'true', CreationTime: ecsTime(now) });
    }
    return {
      RegionId: regionId,
      TotalCount: all.length,
      PageNumber: pageNumber,
      PageSize: pageSize,
      TaskSet: { Task: page(all, pageNumber, pageSize) },
    };
  }

  private describeTaskAttribute(p: Params, now: number) {
    const regionId = this.region(p);
    if (!p.TaskId) throw missingParameter('TaskId');
    this.checkRegion(regionId);
    const v = this.view(this.find(regionId, p.TaskId), now);
    const finished = v.status === 'Finished';
    return {
      RegionId: regionId,
      TaskId: v.taskId,
      TaskAction: v.action,
      TaskStatus: v.status,
      TaskProcess: finished ? '100%' : v.status === 'Processing' ? '50%' : '0%',
      SupportCancel: String(v.supportCancel),
      TotalCount: 1,
      SuccessCount: finished ? 1 : 0,
      FailedCount: v.status === 'Failed' ? 1 : 0,
      CreationTime: ecsTime(v.createdAt),
      FinishedTime: v.finishedAt !== undefined ? ecsTime(v.finishedAt) : '',
      OperationProgressSet: {
        OperationProgress: [
          {
            OperationStatus: finished ? 'Success' : v.status === 'Failed' ? 'Failed' : 'Processing',
            ErrorCode: v.status === 'Failed' ? 'ImportImage.Failed' : '',
            ErrorMsg: '',
            RelatedItemSet: { RelatedItem: [{ Name: 'ImageId', Value: v.resourceId }] },
          },
        ],
      },
    };
  }

  /** Error order follows the reference page (seed 003). */
  private cancelTask(p: Params, now: number) {
    const regionId = this.region(p);
    if (!p.TaskId) throw missingParameter('TaskId');
    this.checkRegion(regionId);
    const task = this.find(regionId, p.TaskId);
    if (!CANCELLABLE.has(task.action)) throw new AlibabaApiError(403, 'InvalidTaskId.TaskActionNotSupport', 'The specified task action not support.');
    if (!running(this.view(task, now).status)) throw new AlibabaApiError(403, 'InvalidTaskId.IncorrectTaskStatus', 'The specified task status is invalid.');
    if (!task.cancellable) throw new AlibabaApiError(403, 'CancelTaskFailed', 'The task is failed to cancel, Please contact the administrator.');
    task.canceledAt = now;
    return {};
  }

  /** Realism `ecs.foreign-tasks`: the region's odd tasks, made on its first listing. */
  private foreignTasks(regionId: string): void {
    if (this.tasks.some((t) => t.regionId === regionId && t.foreign)) return;
    this.createTask({ regionId, action: 'ImportImage', stuck: true }, 'sparse');
    this.createTask({ regionId, action: 'ImportImage', stuck: true }, 'unknown-status');
  }

  snapshot(now: number) {
    return { tasks: this.tasks.map((t) => this.view(t, now)) };
  }
}
