/** ECS (2014-05-26) image import/export tasks: DescribeTasks, DescribeTaskAttribute, CancelTask. */
import * as z from '../zod.ts';
import * as naming from '../rules/naming.ts';
import { AlibabaRpcClient, type AlibabaRpcOptions, type RpcCallOptions } from './alibaba-rpc.ts';
import { CloudConflictError, CloudError, CloudInvalidRequestError, CloudNotFoundError } from './errors.ts';
import { boolish, checkInput, lenient, listOf, longish, named } from './validation.ts';

export type EcsClientOptions = Omit<AlibabaRpcOptions, 'product'>;

/**
 * CancelTaskFailed ("contact the administrator") is neither clearly transient nor the
 * caller's fault: it stays a plain CloudError (kind `unknown`, not retried here); the sweep
 * decides whether to try again on a later pass. Older pages spell the codes without their
 * `InvalidTaskId.` prefix (`IncorrectTaskStatus`, `TaskActionNotSupport`, `RegionId.NotFound`).
 */
const ECS_ERRORS = {
  'InvalidTaskId.NotFound': CloudNotFoundError,
  'InvalidTaskId.IncorrectTaskStatus': CloudConflictError,
  IncorrectTaskStatus: CloudConflictError,
  'InvalidTaskId.TaskActionNotSupport': CloudInvalidRequestError,
  TaskActionNotSupport: CloudInvalidRequestError,
  'InvalidRegionId.NotFound': CloudInvalidRequestError,
  'RegionId.NotFound': CloudInvalidRequestError,
  MissingParameter: CloudInvalidRequestError,
  CancelTaskFailed: CloudError,
} satisfies RpcCallOptions['errorCodes'];

export type EcsTaskAction = 'ImportImage' | 'ExportImage' | (string & {});
export type EcsTaskStatus = 'Finished' | 'Processing' | 'Failed' | 'Pending' | 'Waiting' | 'Deleted' | 'Paused' | 'Cancelled' | (string & {});

/** `IMPORT_IMAGE` → `ImportImage`; already-PascalCase values are kept. */
export function normalizeTaskAction(action: string): EcsTaskAction {
  if (!/^[A-Z0-9]+(?:_[A-Z0-9]+)+$/.test(action) && !/^[A-Z]+$/.test(action)) return action;
  return action
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** A task as DescribeTasks lists it: every field but the id may be missing (the model makes them all optional). */
export interface EcsTask {
  taskId: string;
  taskAction?: EcsTaskAction | undefined;
  taskStatus?: EcsTaskStatus | undefined;
  /** False: ECS says this task cannot be cancelled now, whatever its action. */
  supportCancel?: boolean | undefined;
  creationTime?: string | undefined;
  finishedTime?: string | undefined;
  resourceId?: string | undefined;
}

export interface EcsOperationProgress {
  errorCode?: string | undefined;
  errorMsg?: string | undefined;
  operationStatus?: string | undefined;
  relatedItems: Array<{ name: string; value: string }>;
}

export interface EcsTaskAttribute extends EcsTask {
  taskAction: EcsTaskAction;
  taskStatus: EcsTaskStatus;
  regionId?: string | undefined;
  /** e.g. `"100%"`. */
  taskProcess?: string | undefined;
  successCount?: number | undefined;
  failedCount?: number | undefined;
  totalCount?: number | undefined;
  operationProgress: EcsOperationProgress[];
  requestId?: string | undefined;
}

const optString = z.pipe(
  z.nullish(z.string()),
  z.transform((v) => v ?? undefined),
);

/** Only the id is required: other fields read as absent when missing or odd (other callers' tasks share the listing). */
const taskFields = {
  TaskId: z.string().check(z.minLength(1)),
  TaskAction: lenient(z.pipe(z.string().check(z.minLength(1)), z.transform(normalizeTaskAction))),
  TaskStatus: lenient(z.string().check(z.minLength(1))),
  SupportCancel: lenient(boolish),
  CreationTime: lenient(z.string()),
  FinishedTime: lenient(z.string()),
  ResourceId: lenient(z.string()),
};

function toTask(t: z.output<z.ZodMiniObject<typeof taskFields>>): EcsTask {
  return {
    taskId: t.TaskId,
    taskAction: t.TaskAction,
    taskStatus: t.TaskStatus,
    supportCancel: t.SupportCancel,
    creationTime: t.CreationTime,
    finishedTime: t.FinishedTime,
    resourceId: t.ResourceId,
  };
}

const taskId = named(naming.ecsTaskId);
const isoTime = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/, 'must be UTC like 2024-01-31T08:00Z'));

const describeTasksInput = z.strictObject({
  taskIds: z.optional(z.array(taskId).check(z.minLength(1)).check(z.maxLength(100, 'at most 100 task ids per call'))),
  taskAction: z.optional(z.enum(['ImportImage', 'ExportImage'])),
  taskStatus: z.optional(z.enum(['Finished', 'Processing', 'Failed'])),
  startTime: z.optional(isoTime),
  endTime: z.optional(isoTime),
  pageNumber: z.optional(z.int().check(z.gte(1))),
  pageSize: z.optional(z.int().check(z.gte(1)).check(z.lte(100, 'must be at most 100'))),
});
const taskRefInput = z.strictObject({ taskId });

export type DescribeTasksInput = z.input<typeof describeTasksInput>;

export interface EcsTaskPage {
  /** The tasks Ferry can read (an item without TaskId is left out). */
  tasks: EcsTask[];
  /** How many items the answer carried, readable or not: a full page means there may be more. */
  listed: number;
  pageNumber?: number | undefined;
  pageSize?: number | undefined;
  totalCount?: number | undefined;
  regionId?: string | undefined;
  requestId?: string | undefined;
}

// Response schemas, built once per process.
const describeTasksOutput = z.object({
  RequestId: z.optional(z.string()),
  RegionId: z.optional(z.string()),
  PageNumber: z.optional(longish),
  PageSize: z.optional(longish),
  TotalCount: z.optional(longish),
  TaskSet: z.nullish(z.object({ Task: listOf(z.object(taskFields)) })),
});
const progress = z.object({
  ErrorCode: optString,
  ErrorMsg: optString,
  OperationStatus: optString,
  RelatedItemSet: z.nullish(z.object({ RelatedItem: z.nullish(z.array(z.object({ Name: z.string(), Value: z.string() }))) })),
});
const describeTaskAttributeOutput = z.object({
  RequestId: z.optional(z.string()),
  RegionId: z.optional(z.string()),
  ...taskFields,
  TaskAction: z.pipe(z.string().check(z.minLength(1)), z.transform(normalizeTaskAction)),
  TaskStatus: z.string().check(z.minLength(1)),
  TaskProcess: optString,
  SuccessCount: z.optional(longish),
  FailedCount: z.optional(longish),
  TotalCount: z.optional(longish),
  OperationProgressSet: z.nullish(z.object({ OperationProgress: z.nullish(z.array(progress)) })),
});

export class EcsClient {
  readonly rpc: AlibabaRpcClient;

  constructor(options: EcsClientOptions) {
    this.rpc = new AlibabaRpcClient({ ...options, product: 'ecs' });
  }

  get regionId(): string {
    return this.rpc.regionId;
  }

  async describeTasks(input: DescribeTasksInput = {}): Promise<EcsTaskPage> {
    const i = checkInput(describeTasksInput, input, 'ecs', 'DescribeTasks');
    const r = await this.rpc.call(
      'DescribeTasks',
      {
        RegionId: this.rpc.regionId,
        TaskIds: i.taskIds?.join(','),
        TaskAction: i.taskAction,
        TaskStatus: i.taskStatus,
        StartTime: i.startTime,
        EndTime: i.endTime,
        PageNumber: i.pageNumber,
        PageSize: i.pageSize,
      },
      describeTasksOutput,
      { errorCodes: ECS_ERRORS },
    );
    return {
      tasks: (r.TaskSet?.Task.items ?? []).map(toTask),
      listed: r.TaskSet?.Task.listed ?? 0,
      pageNumber: r.PageNumber,
      pageSize: r.PageSize,
      totalCount: r.TotalCount,
      regionId: r.RegionId,
      requestId: r.RequestId,
    };
  }

  async describeTaskAttribute(input: { taskId: string }): Promise<EcsTaskAttribute> {
    const i = checkInput(taskRefInput, input, 'ecs', 'DescribeTaskAttribute');
    const r = await this.rpc.call('DescribeTaskAttribute', { RegionId: this.rpc.regionId, TaskId: i.taskId }, describeTaskAttributeOutput, { errorCodes: ECS_ERRORS });
    return {
      ...toTask(r),
      taskAction: r.TaskAction,
      taskStatus: r.TaskStatus,
      regionId: r.RegionId,
      taskProcess: r.TaskProcess,
      successCount: r.SuccessCount,
      failedCount: r.FailedCount,
      totalCount: r.TotalCount,
      operationProgress: (r.OperationProgressSet?.OperationProgress ?? []).map((p) => ({
        errorCode: p.ErrorCode,
        errorMsg: p.ErrorMsg,
        operationStatus: p.OperationStatus,
        relatedItems: (p.RelatedItemSet?.RelatedItem ?? []).map((x) => ({ name: x.Name, value: x.Value })),
      })),
      requestId: r.RequestId,
    };
  }

  /** Cancels a running ImportImage/ExportImage task. */
  async cancelTask(input: { taskId: string }): Promise<{ requestId?: string | undefined }> {
    const i = checkInput(taskRefInput, input, 'ecs', 'CancelTask');
    const r = await this.rpc.call('CancelTask', { RegionId: this.rpc.regionId, TaskId: i.taskId }, z.object({ RequestId: z.optional(z.string()) }), {
      errorCodes: ECS_ERRORS,
    });
    return { requestId: r.RequestId };
  }
}
