/** Alibaba Container Registry Enterprise Edition (`cr`, 2018-12-01): repositories, sync tasks, triggers. */
import * as z from '../zod.ts';
import * as naming from '../rules/naming.ts';
import { AlibabaRpcClient, type AlibabaRpcOptions, type RpcCallOptions } from './alibaba-rpc.ts';
import { CloudNotFoundError } from './errors.ts';
import { checkInput, hasMorePages, lenient, listOf, longish, named, regionId } from './validation.ts';

export type AcrClientOptions = Omit<AlibabaRpcOptions, 'product'>;

const NOT_FOUND = {
  SYNC_TASK_NOT_EXIST: CloudNotFoundError,
  REPO_NOT_EXIST: CloudNotFoundError,
  INSTANCE_NOT_EXIST: CloudNotFoundError,
  NAMESPACE_NOT_EXIST: CloudNotFoundError,
  TRIGGER_NOT_EXIST: CloudNotFoundError,
  REPO_TRIGGER_NOT_EXIST: CloudNotFoundError,
  TAG_NOT_EXIST: CloudNotFoundError,
  INSTANCE_NOT_FOUND: CloudNotFoundError,
  REPO_NOT_FOUND: CloudNotFoundError,
} satisfies RpcCallOptions['errorCodes'];

// ---------------------------------------------------------------- result types

/** The statuses documented today; a listing may carry others (kept as they are). */
export type AcrSyncTaskStatus = 'PENDING' | 'SYNCHRONIZING' | 'SUCCESS' | 'ERROR' | 'CANCELED';
export type AcrTaskTrigger = 'PASSIVE' | 'INITIATIVE';

/** Every field is optional in the published model: a task a sync rule made may leave any out. */
export interface AcrImageRef {
  instanceId?: string | undefined;
  regionId?: string | undefined;
  repoNamespaceName?: string | undefined;
  repoName?: string | undefined;
  imageTag?: string | undefined;
}

export interface AcrSyncTask {
  syncTaskId: string;
  /** Absent when a listing leaves it out; any string the cloud says, documented or not. */
  taskStatus?: AcrSyncTaskStatus | (string & {}) | undefined;
  syncBatchTaskId?: string | undefined;
  syncRuleId?: string | undefined;
  /** `INITIATIVE` (made by a call such as Ferry's) or `PASSIVE` (made by a sync rule). */
  taskTrigger?: AcrTaskTrigger | (string & {}) | undefined;
  /** Why a task failed (`TAG_CONFLICT`, `NETWORK_ERROR`…); absent or empty otherwise. */
  taskIssue?: string | undefined;
  createTime?: number | undefined;
  /** Epoch ms; from `ModifiedTime`, or the deprecated misspelling `ModifedTime`. */
  modifiedTime?: number | undefined;
  crossUser?: boolean | undefined;
  imageFrom?: AcrImageRef | undefined;
  imageTo?: AcrImageRef | undefined;
}

export interface AcrLayerTask {
  syncLayerTaskId?: string | undefined;
  digest?: string | undefined;
  artifactDigest?: string | undefined;
  size?: number | undefined;
  syncedSize?: number | undefined;
  taskStatus?: string | undefined;
}

export interface AcrSyncTaskDetail extends AcrSyncTask {
  taskStatus: AcrSyncTaskStatus | (string & {});
  /** 0 started or failed, 1 success. */
  progress?: number | undefined;
  syncedSize?: number | undefined;
  layerTasks: AcrLayerTask[];
  requestId?: string | undefined;
}

export interface AcrRepository {
  repoId: string;
  repoName?: string | undefined;
  repoNamespaceName?: string | undefined;
  instanceId?: string | undefined;
  repoStatus?: string | undefined;
  repoType?: string | undefined;
  tagImmutability?: boolean | undefined;
  createTime?: number | undefined;
  modifiedTime?: number | undefined;
}

/** One tag of a repository as ListRepoTag lists it; `digest` is `sha256:<hex>` (ACR answers bare hex). */
export interface AcrRepoTag {
  tag: string;
  digest?: string | undefined;
  imageId?: string | undefined;
  imageSize?: number | undefined;
  /** Epoch ms. */
  imageCreate?: number | undefined;
  imageUpdate?: number | undefined;
  status?: string | undefined;
}

export interface AcrTrigger {
  triggerId: string;
  triggerName?: string | undefined;
  triggerUrl?: string | undefined;
  triggerType?: string | undefined;
  triggerTag?: string | undefined;
}

/** Temporary registry credentials of an instance (GetAuthorizationToken). */
export interface AcrAuthorizationToken {
  tempUsername: string;
  /** The registry password. */
  authorizationToken: string;
  /** Epoch ms; absent when the answer left it out or sent something else. */
  expireTime?: number | undefined;
  requestId?: string | undefined;
}

export interface Page<T> {
  /** The items Ferry can read (an item without its id is left out). */
  items: T[];
  /** How many items the answer carried, readable or not: a full page means there may be more. */
  listed: number;
  pageNo?: number | undefined;
  pageSize?: number | undefined;
  totalCount?: number | undefined;
  requestId?: string | undefined;
}

// ---------------------------------------------------------------- response schemas
// Only the id of an item is required: every other field reads as absent when it is missing or odd.

const envelope = { RequestId: z.optional(z.string()), Code: z.optional(z.string()), IsSuccess: z.optional(z.boolean()) };
const text = lenient(z.string());

const imageRefSchema = z.pipe(
  z.object({ InstanceId: text, RegionId: text, RepoNamespaceName: text, RepoName: text, ImageTag: text }),
  z.transform((r): AcrImageRef => ({ instanceId: r.InstanceId, regionId: r.RegionId, repoNamespaceName: r.RepoNamespaceName, repoName: r.RepoName, imageTag: r.ImageTag })),
);

const syncTaskFields = {
  SyncTaskId: z.string().check(z.minLength(1)),
  TaskStatus: lenient(z.string().check(z.minLength(1))),
  SyncBatchTaskId: text,
  SyncRuleId: text,
  TaskTrigger: text,
  TaskIssue: text,
  CreateTime: lenient(longish),
  ModifiedTime: lenient(longish),
  ModifedTime: lenient(longish),
  CrossUser: lenient(z.boolean()),
  ImageFrom: lenient(imageRefSchema),
  ImageTo: lenient(imageRefSchema),
};

type SyncTaskRaw = z.output<z.ZodMiniObject<typeof syncTaskFields>>;

function toSyncTask(t: SyncTaskRaw): AcrSyncTask {
  return {
    syncTaskId: t.SyncTaskId,
    taskStatus: t.TaskStatus,
    syncBatchTaskId: t.SyncBatchTaskId,
    syncRuleId: t.SyncRuleId,
    taskTrigger: t.TaskTrigger,
    taskIssue: t.TaskIssue || undefined,
    createTime: t.CreateTime,
    modifiedTime: t.ModifiedTime ?? t.ModifedTime,
    crossUser: t.CrossUser,
    imageFrom: t.ImageFrom,
    imageTo: t.ImageTo,
  };
}

const repositoryFields = {
  RepoId: z.string().check(z.minLength(1)),
  RepoName: text,
  RepoNamespaceName: text,
  InstanceId: text,
  RepoStatus: text,
  RepoType: text,
  TagImmutability: lenient(z.boolean()),
  CreateTime: lenient(longish),
  ModifiedTime: lenient(longish),
};

const DIGEST = /^([a-z0-9]+:)?[0-9a-f]{32,128}$/;

/** ACR answers a digest as bare hex: Ferry names it `sha256:<hex>`. */
function fullDigest(d: string): string {
  return /^[a-z0-9]+:/.test(d) ? d : `sha256:${d}`;
}

const repoTagFields = {
  Tag: z.string().check(z.minLength(1)),
  Digest: lenient(z.string().check(z.regex(DIGEST))),
  ImageId: text,
  ImageSize: lenient(longish),
  ImageCreate: lenient(longish),
  ImageUpdate: lenient(longish),
  Status: text,
};

function toRepoTag(t: z.output<z.ZodMiniObject<typeof repoTagFields>>): AcrRepoTag {
  return {
    tag: t.Tag,
    digest: t.Digest === undefined ? undefined : fullDigest(t.Digest),
    imageId: t.ImageId,
    imageSize: t.ImageSize,
    imageCreate: t.ImageCreate,
    imageUpdate: t.ImageUpdate,
    status: t.Status,
  };
}

function toRepository(r: z.output<z.ZodMiniObject<typeof repositoryFields>>): AcrRepository {
  return {
    repoId: r.RepoId,
    repoName: r.RepoName,
    repoNamespaceName: r.RepoNamespaceName,
    instanceId: r.InstanceId,
    repoStatus: r.RepoStatus,
    repoType: r.RepoType,
    tagImmutability: r.TagImmutability,
    createTime: r.CreateTime,
    modifiedTime: r.ModifiedTime,
  };
}

/** Optional (the model says so), but checked when present: paging decides what is read next. */
const pageFields = { PageNo: z.optional(longish), PageSize: z.optional(longish), TotalCount: z.optional(longish) };

// ---------------------------------------------------------------- input schemas

const instanceId = named(naming.acrInstanceId);
const repoId = named(naming.acrRepoId);
const syncTaskId = named(naming.acrSyncTaskId);
const pageNo = z.optional(z.int().check(z.gte(1)));
const pageSize = z.optional(z.int().check(z.gte(1)).check(z.lte(100, 'must be at most 100')));

const getRepositoryInput = z.union([z.strictObject({ instanceId, repoId }), z.strictObject({ instanceId, repoNamespaceName: named(naming.acrNamespace), repoName: named(naming.acrRepository) })]);
const listRepositoryInput = z.strictObject({
  instanceId,
  repoNamespaceName: z.optional(named(naming.acrNamespace)),
  repoName: z.optional(named(naming.acrRepository)),
  repoStatus: z.optional(z.enum(['NORMAL', 'DELETING', 'DELETED', 'ALL'])),
  pageNo,
  pageSize,
});
const createRepoSyncTaskInput = z.strictObject({
  instanceId,
  repoId,
  tag: named(naming.imageTag),
  targetInstanceId: instanceId,
  targetNamespace: named(naming.acrNamespace),
  targetRegionId: regionId,
  targetRepoName: named(naming.acrRepository),
  targetTag: named(naming.imageTag),
  targetUserId: z.optional(named(naming.accountId)),
  override: z.optional(z.boolean()),
});
const taskRefInput = z.strictObject({ instanceId, syncTaskId });
const repoTagInput = z.strictObject({ instanceId, repoId, tag: named(naming.imageTag) });
const getRepoTagOutput = z.looseObject({ RequestId: z.optional(z.string()), Digest: z.string().check(z.regex(DIGEST)) });
const listRepoTagInput = z.strictObject({ instanceId, repoId, pageNo, pageSize });
const listRepoSyncTaskInput = z.strictObject({
  instanceId,
  repoNamespaceName: z.optional(named(naming.acrNamespace)),
  repoName: z.optional(named(naming.acrRepository)),
  tag: z.optional(named(naming.imageTag)),
  syncRecordId: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(128))),
  pageNo,
  pageSize,
});
const createRepoTriggerInput = z
  .strictObject({
    instanceId,
    repoId,
    triggerName: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"')),
    triggerUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    triggerType: z.enum(['ALL', 'TAG_LIST', 'TAG_REG_EXP']),
    triggerTag: z.optional(z.string().check(z.maxLength(1024))),
  })
  .check(z.refine((v) => v.triggerType === 'ALL' || !!v.triggerTag, { message: 'is required unless triggerType is ALL', path: ['triggerTag'] }));
const listRepoTriggerInput = z.strictObject({ instanceId, repoId });
const authorizationTokenInput = z.strictObject({ instanceId });

export type GetRepositoryInput = z.input<typeof getRepositoryInput>;
export type ListRepositoryInput = z.input<typeof listRepositoryInput>;
export type CreateRepoSyncTaskInput = z.input<typeof createRepoSyncTaskInput>;
export type RepoSyncTaskRef = z.input<typeof taskRefInput>;
export type ListRepoSyncTaskInput = z.input<typeof listRepoSyncTaskInput>;
export type ListRepoTagInput = z.input<typeof listRepoTagInput>;
export type CreateRepoTriggerInput = z.input<typeof createRepoTriggerInput>;
export type ListRepoTriggerInput = z.input<typeof listRepoTriggerInput>;

// ---------------------------------------------------------------- client

// Response schemas, built once: compiling a zod schema per call cost more than signing the request.
const layer = z.object({
  SyncLayerTaskId: text,
  Digest: text,
  ArtifactDigest: text,
  Size: lenient(longish),
  SyncedSize: lenient(longish),
  TaskStatus: text,
});
const trigger = z.object({ TriggerId: z.string().check(z.minLength(1)), TriggerName: text, TriggerUrl: text, TriggerType: text, TriggerTag: text });
const getRepositoryOutput = z.object({ ...envelope, ...repositoryFields });
const listRepositoryOutput = z.object({ ...envelope, ...pageFields, Repositories: listOf(z.object(repositoryFields)) });
const createRepoSyncTaskOutput = z.object({ ...envelope, SyncTaskId: z.string().check(z.minLength(1)) });
const getRepoSyncTaskOutput = z.object({
  ...envelope,
  ...syncTaskFields,
  TaskStatus: z.string().check(z.minLength(1)),
  Progress: lenient(longish),
  SyncedSize: lenient(longish),
  LayerTasks: listOf(layer),
});
const listRepoTagOutput = z.object({ ...envelope, ...pageFields, Images: listOf(z.object(repoTagFields)) });
const listRepoSyncTaskOutput = z.object({ ...envelope, ...pageFields, SyncTasks: listOf(z.object(syncTaskFields)) });
const envelopeOutput = z.object(envelope);
const createRepoTriggerOutput = z.object({ ...envelope, TriggerId: z.string().check(z.minLength(1)) });
const listRepoTriggerOutput = z.object({ ...envelope, Triggers: listOf(trigger) });
const authorizationTokenOutput = z.object({ ...envelope, TempUsername: z.string().check(z.minLength(1)), AuthorizationToken: z.string().check(z.minLength(1)), ExpireTime: lenient(longish) });

function pageOf<T>(r: { PageNo?: number | undefined; PageSize?: number | undefined; TotalCount?: number | undefined; RequestId?: string | undefined }, list: { items: T[]; listed: number }): Page<T> {
  return { items: list.items, listed: list.listed, pageNo: r.PageNo, pageSize: r.PageSize, totalCount: r.TotalCount, requestId: r.RequestId };
}

export class AcrClient {
  readonly rpc: AlibabaRpcClient;

  constructor(options: AcrClientOptions) {
    this.rpc = new AlibabaRpcClient({ ...options, product: 'cr' });
  }

  get regionId(): string {
    return this.rpc.regionId;
  }

  private input<S extends z.ZodMiniType>(schema: S, value: unknown, action: string): z.output<S> {
    return checkInput(schema, value, 'acr', action);
  }

  async getRepository(input: GetRepositoryInput): Promise<AcrRepository & { requestId?: string | undefined }> {
    const i = this.input(getRepositoryInput, input, 'GetRepository');
    const params = 'repoId' in i ? { InstanceId: i.instanceId, RepoId: i.repoId } : { InstanceId: i.instanceId, RepoNamespaceName: i.repoNamespaceName, RepoName: i.repoName };
    const r = await this.rpc.call('GetRepository', params, getRepositoryOutput, { errorCodes: NOT_FOUND });
    return { ...toRepository(r), requestId: r.RequestId };
  }

  /**
   * The digest a tag points at (GetRepoTag), as `sha256:<hex>`: ACR answers bare hex. A tag that does
   * not exist is a CloudNotFoundError (TAG_NOT_EXIST).
   */
  async getRepoTagDigest(input: { instanceId: string; repoId: string; tag: string }): Promise<string> {
    const i = this.input(repoTagInput, input, 'GetRepoTag');
    const r = await this.rpc.call('GetRepoTag', { InstanceId: i.instanceId, RepoId: i.repoId, Tag: i.tag }, getRepoTagOutput, { errorCodes: NOT_FOUND });
    return fullDigest(r.Digest);
  }

  /** One page of a repository's tags (PageSize ≤ 100), newest first; a tag listed without a readable digest has none. */
  async listRepoTag(input: ListRepoTagInput): Promise<Page<AcrRepoTag>> {
    const i = this.input(listRepoTagInput, input, 'ListRepoTag');
    const r = await this.rpc.call('ListRepoTag', { InstanceId: i.instanceId, RepoId: i.repoId, PageNo: i.pageNo, PageSize: i.pageSize }, listRepoTagOutput, {
      errorCodes: NOT_FOUND,
    });
    return pageOf(r, { items: r.Images.items.map(toRepoTag), listed: r.Images.listed });
  }

  /**
   * Deletes one tag (DeleteRepoTag; RAM action cr:DeleteRepositoryTag). A tag that does not exist is a
   * CloudNotFoundError (TAG_NOT_EXIST).
   */
  async deleteRepoTag(input: { instanceId: string; repoId: string; tag: string }): Promise<{ requestId?: string | undefined }> {
    const i = this.input(repoTagInput, input, 'DeleteRepoTag');
    const r = await this.rpc.call('DeleteRepoTag', { InstanceId: i.instanceId, RepoId: i.repoId, Tag: i.tag }, envelopeOutput, { errorCodes: NOT_FOUND });
    return { requestId: r.RequestId };
  }

  async listRepository(input: ListRepositoryInput): Promise<Page<AcrRepository>> {
    const i = this.input(listRepositoryInput, input, 'ListRepository');
    const r = await this.rpc.call(
      'ListRepository',
      { InstanceId: i.instanceId, RepoNamespaceName: i.repoNamespaceName, RepoName: i.repoName, RepoStatus: i.repoStatus, PageNo: i.pageNo, PageSize: i.pageSize },
      listRepositoryOutput,
      { errorCodes: NOT_FOUND },
    );
    return pageOf(r, { items: r.Repositories.items.map(toRepository), listed: r.Repositories.listed });
  }

  /**
   * Starts one sync. It has no client token: calling it twice makes two tasks, so it is
   * never re-sent after an unanswered attempt; on CloudTransientError, list to reconcile.
   */
  async createRepoSyncTask(input: CreateRepoSyncTaskInput): Promise<{ syncTaskId: string; requestId?: string | undefined }> {
    const i = this.input(createRepoSyncTaskInput, input, 'CreateRepoSyncTask');
    const r = await this.rpc.call(
      'CreateRepoSyncTask',
      {
        InstanceId: i.instanceId,
        RegionId: this.rpc.regionId,
        RepoId: i.repoId,
        Tag: i.tag,
        TargetInstanceId: i.targetInstanceId,
        TargetNamespace: i.targetNamespace,
        TargetRegionId: i.targetRegionId,
        TargetRepoName: i.targetRepoName,
        TargetTag: i.targetTag,
        TargetUserId: i.targetUserId,
        Override: i.override,
      },
      createRepoSyncTaskOutput,
      { mayHaveCreated: true, errorCodes: NOT_FOUND },
    );
    return { syncTaskId: r.SyncTaskId, requestId: r.RequestId };
  }

  async getRepoSyncTask(input: RepoSyncTaskRef): Promise<AcrSyncTaskDetail> {
    const i = this.input(taskRefInput, input, 'GetRepoSyncTask');
    const r = await this.rpc.call('GetRepoSyncTask', { InstanceId: i.instanceId, SyncTaskId: i.syncTaskId }, getRepoSyncTaskOutput, { errorCodes: NOT_FOUND });
    return {
      ...toSyncTask(r),
      taskStatus: r.TaskStatus,
      progress: r.Progress,
      syncedSize: r.SyncedSize,
      layerTasks: r.LayerTasks.items.map((l) => ({
        syncLayerTaskId: l.SyncLayerTaskId,
        digest: l.Digest,
        artifactDigest: l.ArtifactDigest,
        size: l.Size,
        syncedSize: l.SyncedSize,
        taskStatus: l.TaskStatus,
      })),
      requestId: r.RequestId,
    };
  }

  /**
   * One page (PageSize ≤ 100), with every sync task of the instance: sync rules' (PASSIVE) too.
   * `TotalCount` arrives as a string and is returned as a number.
   */
  async listRepoSyncTask(input: ListRepoSyncTaskInput): Promise<Page<AcrSyncTask>> {
    const i = this.input(listRepoSyncTaskInput, input, 'ListRepoSyncTask');
    const r = await this.rpc.call(
      'ListRepoSyncTask',
      {
        InstanceId: i.instanceId,
        RepoNamespaceName: i.repoNamespaceName,
        RepoName: i.repoName,
        Tag: i.tag,
        SyncRecordId: i.syncRecordId,
        PageNo: i.pageNo,
        PageSize: i.pageSize,
      },
      listRepoSyncTaskOutput,
      { errorCodes: NOT_FOUND },
    );
    return pageOf(r, { items: r.SyncTasks.items.map(toSyncTask), listed: r.SyncTasks.listed });
  }

  /** Every page of ListRepoSyncTask (PageSize 100), stopping after `maxPages`. */
  async *iterateRepoSyncTasks(input: Omit<ListRepoSyncTaskInput, 'pageNo' | 'pageSize'>, maxPages = 50): AsyncGenerator<AcrSyncTask> {
    for (let pageNo = 1; pageNo <= maxPages; pageNo++) {
      const page = await this.listRepoSyncTask({ ...input, pageNo, pageSize: 100 });
      yield* page.items;
      if (!hasMorePages(page, pageNo, 100)) return;
    }
  }

  async cancelRepoSyncTask(input: RepoSyncTaskRef): Promise<{ requestId?: string | undefined }> {
    const i = this.input(taskRefInput, input, 'CancelRepoSyncTask');
    const r = await this.rpc.call('CancelRepoSyncTask', { InstanceId: i.instanceId, SyncTaskId: i.syncTaskId }, envelopeOutput, { errorCodes: NOT_FOUND });
    return { requestId: r.RequestId };
  }

  /** Creates a repository webhook; may have been created on an unanswered attempt, so not re-sent then. */
  async createRepoTrigger(input: CreateRepoTriggerInput): Promise<{ triggerId: string; requestId?: string | undefined }> {
    const i = this.input(createRepoTriggerInput, input, 'CreateRepoTrigger');
    const r = await this.rpc.call(
      'CreateRepoTrigger',
      { InstanceId: i.instanceId, RepoId: i.repoId, TriggerName: i.triggerName, TriggerUrl: i.triggerUrl, TriggerType: i.triggerType, TriggerTag: i.triggerTag },
      createRepoTriggerOutput,
      { mayHaveCreated: true, errorCodes: NOT_FOUND },
    );
    return { triggerId: r.TriggerId, requestId: r.RequestId };
  }

  async listRepoTrigger(input: ListRepoTriggerInput): Promise<{ triggers: AcrTrigger[]; requestId?: string | undefined }> {
    const i = this.input(listRepoTriggerInput, input, 'ListRepoTrigger');
    const r = await this.rpc.call('ListRepoTrigger', { InstanceId: i.instanceId, RepoId: i.repoId }, listRepoTriggerOutput, {
      errorCodes: NOT_FOUND,
    });
    return {
      triggers: r.Triggers.items.map((t) => ({ triggerId: t.TriggerId, triggerName: t.TriggerName, triggerUrl: t.TriggerUrl, triggerType: t.TriggerType, triggerTag: t.TriggerTag })),
      requestId: r.RequestId,
    };
  }

  /** Temporary credentials for the instance's registry (`docker login` user and password), valid about an hour. */
  async getAuthorizationToken(instanceId: string): Promise<AcrAuthorizationToken> {
    const i = this.input(authorizationTokenInput, { instanceId }, 'GetAuthorizationToken');
    const r = await this.rpc.call('GetAuthorizationToken', { InstanceId: i.instanceId }, authorizationTokenOutput, { errorCodes: NOT_FOUND });
    return { tempUsername: r.TempUsername, authorizationToken: r.AuthorizationToken, expireTime: r.ExpireTime, requestId: r.RequestId };
  }
}
