import { POLICY_DEFAULTS, type Policy } from '../config/index.ts';
import type { EcsWatchState, ReplicationState, TaskState } from './states.ts';

/** A provider name (`acr`, `swr`, …): providers are registered in code, the ledger accepts any non-empty name. */
export type Provider = string;

/** Times are ISO-8601 UTC strings (millisecond precision: the ledger writes its clock's values). */
export type Iso = string;
export type TimeInput = Date | string | number;
export type Json = Record<string, unknown>;

/** What a task does at its target: copy the source image there, or delete the tag Ferry copied there. */
export type TaskAction = 'copy' | 'delete';

export interface ReplicationRow {
  id: string;
  sourceKey: string;
  sourceKind: string;
  /** `delete`: the source event was a deletion, and its tasks delete. */
  action: TaskAction;
  source: string;
  region: string | null;
  namespace: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  pushedAt: Iso | null;
  receivedAt: Iso;
  rules: string[];
  details: Json;
  state: ReplicationState;
  createdAt: Iso;
  updatedAt: Iso;
}

export interface TaskError {
  code: string;
  message: string;
  requestId: string | null;
}

export interface TaskRow {
  id: string;
  replicationId: string;
  idempotencyKey: string;
  action: TaskAction;
  provider: Provider;
  scope: string;
  target: Json;
  targetKey: string;
  rule: string | null;
  state: TaskState;
  /** Submissions ever made, across reruns. */
  attempts: number;
  /** The attempts the current budget allows, counted like `attempts` (a rerun raises it by the policy's). */
  maxAttempts: number;
  /** `attempts` when the current budget began (0, or the attempts made before the last rerun). */
  attemptBase: number;
  /** Times an operator or a redelivered push re-opened the finished task. */
  reruns: number;
  /** When the task is next due: submission for pending, the next status poll for submitted/running. */
  nextAttemptAt: Iso | null;
  deadlineAt: Iso | null;
  /** Set when a submission starts; with cloudRef null the outcome of that submission is unknown. */
  submitStartedAt: Iso | null;
  cloudRef: string | null;
  cloudCreatedAt: Iso | null;
  cloudStatus: string | null;
  lastError: TaskError | null;
  leaseOwner: string | null;
  leaseExpiresAt: Iso | null;
  cancelRequestedAt: Iso | null;
  cancelReason: string | null;
  /** The rule's retry/deadline policy the task was recorded with, defaults filled in. */
  policy: Policy;
  createdAt: Iso;
  updatedAt: Iso;
  finishedAt: Iso | null;
}

export interface TaskEvent {
  id: number;
  taskId: string;
  at: Iso;
  fromState: TaskState | null;
  toState: TaskState;
  reason: string;
  actor: string;
  details: Json;
}

export interface CloudRefRow {
  cloudRef: string;
  attempt: number;
  createdAt: Iso | null;
  recordedAt: Iso;
}

export interface EcsTaskRow {
  region: string;
  taskId: string;
  action: string;
  ferryTaskId: string | null;
  resourceId: string | null;
  cloudStatus: string | null;
  state: EcsWatchState;
  deadlineAt: Iso | null;
  lastError: { code: string; message: string } | null;
  createdAt: Iso;
  updatedAt: Iso;
  finishedAt: Iso | null;
}

export type NotificationState = 'pending' | 'sent' | 'dead';

export interface NotificationRow {
  id: string;
  subject: string;
  taskId: string | null;
  replicationId: string | null;
  kind: string;
  target: string;
  payload: Json;
  state: NotificationState;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: Iso;
  leaseOwner: string | null;
  leaseExpiresAt: Iso | null;
  lastError: string | null;
  createdAt: Iso;
  updatedAt: Iso;
  sentAt: Iso | null;
  /** Due only once none of its replication's tasks is open (a grouped failure notice). */
  untilSettled: boolean;
}

type Raw = Record<string, unknown>;

export function iso(v: unknown): Iso {
  if (v instanceof Date) return v.toISOString();
  return new Date(v as string).toISOString();
}
export function isoOrNull(v: unknown): Iso | null {
  return v == null ? null : iso(v);
}
const str = (v: unknown) => v as string;
const strOrNull = (v: unknown) => (v == null ? null : String(v));
const actionOf = (v: unknown): TaskAction => (v === 'delete' ? 'delete' : 'copy');
const json = (v: unknown): Json => (typeof v === 'string' ? (JSON.parse(v) as Json) : ((v ?? {}) as Json));

export function toReplication(r: Raw): ReplicationRow {
  return {
    id: str(r.id),
    sourceKey: str(r.source_key),
    sourceKind: str(r.source_kind),
    action: actionOf(r.action),
    source: str(r.source),
    region: strOrNull(r.region),
    namespace: str(r.namespace),
    repository: str(r.repository),
    tag: strOrNull(r.tag),
    digest: strOrNull(r.digest),
    pushedAt: isoOrNull(r.pushed_at),
    receivedAt: iso(r.received_at),
    rules: (typeof r.rules === 'string' ? JSON.parse(r.rules) : r.rules) as string[],
    details: json(r.details),
    state: r.state as ReplicationState,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function toTask(r: Raw): TaskRow {
  return {
    id: str(r.id),
    replicationId: str(r.replication_id),
    idempotencyKey: str(r.idempotency_key),
    action: actionOf(r.action),
    provider: r.provider as Provider,
    scope: str(r.scope),
    target: json(r.target),
    targetKey: str(r.target_key),
    rule: strOrNull(r.rule),
    state: r.state as TaskState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    attemptBase: Number(r.attempt_base ?? 0),
    reruns: Number(r.reruns ?? 0),
    nextAttemptAt: isoOrNull(r.next_attempt_at),
    deadlineAt: isoOrNull(r.deadline_at),
    submitStartedAt: isoOrNull(r.submit_started_at),
    cloudRef: strOrNull(r.cloud_ref),
    cloudCreatedAt: isoOrNull(r.cloud_created_at),
    cloudStatus: strOrNull(r.cloud_status),
    lastError:
      r.last_error_code == null
        ? null
        : {
            code: str(r.last_error_code),
            message: str(r.last_error_message ?? ''),
            requestId: strOrNull(r.last_error_request_id),
          },
    leaseOwner: strOrNull(r.lease_owner),
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    cancelRequestedAt: isoOrNull(r.cancel_requested_at),
    cancelReason: strOrNull(r.cancel_reason),
    policy: toPolicy(json(r.policy)),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

/**
 * The stored policy with the defaults for whatever it leaves out (backoff field by field); a field of
 * the wrong type counts as left out.
 */
export function toPolicy(stored: Json): Policy {
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const b = (stored.backoff ?? {}) as Json;
  return {
    maxAttempts: num(stored.maxAttempts, POLICY_DEFAULTS.maxAttempts),
    backoff: {
      initialSeconds: num(b.initialSeconds, POLICY_DEFAULTS.backoff.initialSeconds),
      maxSeconds: num(b.maxSeconds, POLICY_DEFAULTS.backoff.maxSeconds),
      multiplier: num(b.multiplier, POLICY_DEFAULTS.backoff.multiplier),
    },
    deadlineMinutes: num(stored.deadlineMinutes, POLICY_DEFAULTS.deadlineMinutes),
    retryOnTimeout: typeof stored.retryOnTimeout === 'boolean' ? stored.retryOnTimeout : POLICY_DEFAULTS.retryOnTimeout,
  };
}

export function toEvent(r: Raw): TaskEvent {
  return {
    id: Number(r.id),
    taskId: str(r.task_id),
    at: iso(r.at),
    fromState: (r.from_state ?? null) as TaskState | null,
    toState: r.to_state as TaskState,
    reason: str(r.reason),
    actor: str(r.actor),
    details: json(r.details),
  };
}

export function toCloudRef(r: Raw): CloudRefRow {
  return {
    cloudRef: str(r.cloud_ref),
    attempt: Number(r.attempt),
    createdAt: isoOrNull(r.created_at),
    recordedAt: iso(r.recorded_at),
  };
}

export function toEcsTask(r: Raw): EcsTaskRow {
  return {
    region: str(r.region),
    taskId: str(r.task_id),
    action: str(r.action),
    ferryTaskId: strOrNull(r.ferry_task_id),
    resourceId: strOrNull(r.resource_id),
    cloudStatus: strOrNull(r.cloud_status),
    state: r.state as EcsWatchState,
    deadlineAt: isoOrNull(r.deadline_at),
    lastError: r.last_error_code == null ? null : { code: str(r.last_error_code), message: str(r.last_error_message ?? '') },
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

export function toNotification(r: Raw): NotificationRow {
  return {
    id: str(r.id),
    subject: str(r.subject),
    taskId: strOrNull(r.task_id),
    replicationId: strOrNull(r.replication_id),
    kind: str(r.kind),
    target: str(r.target),
    payload: json(r.payload),
    state: r.state as NotificationState,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    nextAttemptAt: iso(r.next_attempt_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    lastError: strOrNull(r.last_error),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    sentAt: isoOrNull(r.sent_at),
    untilSettled: r.until_settled === true,
  };
}
