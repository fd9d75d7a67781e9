/**
 * Request and response shapes of the operator API. Requests are validated with these schemas;
 * the OpenAPI document (openapi.ts) is generated from the same ones.
 */
import { z } from 'zod';
import * as naming from '../rules/naming.ts';
import { ALIBABA_REGIONS, HUAWEI_REGIONS } from '../rules/regions.ts';
import { errorEnvelopeSchema, type ErrorDetail } from '../http/errors.ts';
import { textProblem, timeProblem } from '../http/values.ts';
import { TASK_STATES, REPLICATION_STATES, ECS_WATCH_STATES, checkListCursor, type TaskRow } from '../ledger/index.ts';
import { providerNamed, providers } from '../providers/registry.ts';
import type { SchemaKit } from '../providers/types.ts';

/** A string passing one of the naming rules; the rule's sentence becomes the issue message. */
function named(check: naming.NameCheck, description: string, pattern?: RegExp) {
  const base = pattern ? z.string().regex(pattern, check('') ?? 'invalid') : z.string();
  return base
    .superRefine((v, ctx) => {
      const reason = check(v);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    })
    .describe(description);
}

const alibabaRegion = z.enum(ALIBABA_REGIONS, { message: 'must be an Alibaba Cloud region id Ferry knows, like "cn-hangzhou"' }).describe('Alibaba Cloud region id');
const huaweiRegion = z.enum(HUAWEI_REGIONS, { message: 'must be a Huawei Cloud region id Ferry knows, like "cn-north-4"' }).describe('Huawei Cloud region id');

export const uuidParam = z.uuid({ message: 'must be a UUID' });

/** A page cursor this API handed out (`nextCursor`). */
export const listCursor = z
  .string()
  .min(1)
  .max(512)
  .refine((c) => checkListCursor(c) === null, { error: 'is not a nextCursor this API returned' });

/** A string the ledger can store: no NUL, no lone surrogate (shared/http/values.ts). */
const text = () =>
  z.string().superRefine((v, ctx) => {
    const problem = textProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const cancelTaskBody = z
  .strictObject({ reason: text().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional() })
  .describe('Optional reason, recorded in the task history');

/** `POST /cancel` for an ECS image import/export task (ECS is watched, not a replication provider). */
export const ECS_REFERENCE = 'ecs';

const referenceKit: SchemaKit = {
  checked: (check, pattern) => named(check, '', pattern),
  template: () => z.string().default(''),
  alibabaRegion,
  huaweiRegion,
};

/**
 * `POST /cancel`: the cloud's own reference, one shape per provider that has one (from the
 * provider registry), and ECS tasks. Built on first use: providers may register before.
 */
export const cloudCancelBody = lazily(() => {
  const shapes = [
    z.strictObject({
      provider: z.literal(ECS_REFERENCE),
      regionId: alibabaRegion,
      taskId: named(naming.ecsTaskId, 'ECS task id (t-…)', /^t-[a-z0-9]{4,32}$/),
      reason: cancelTaskBody.shape.reason,
    }),
    ...providers().flatMap((p) => (p.reference ? [p.reference.schema(referenceKit).extend({ provider: z.literal(p.name), reason: cancelTaskBody.shape.reason })] : [])),
  ];
  const names = shapes.map((sh) => `"${String((sh.shape.provider as z.ZodLiteral).value)}"`).sort();
  return z.discriminatedUnion('provider', shapes as unknown as [z.ZodObject, ...z.ZodObject[]], {
    error: (iss) => (iss.code === 'invalid_union' ? `must be one of ${names.join(', ')}` : undefined),
  });
});
export type CloudCancelBody = { provider: string; reason?: string | undefined } & Record<string, unknown>;

function lazily<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

const TASK_ACTIONS = ['copy', 'delete'] as const;

/** Other spellings of a state that operators type (British "cancelled"). */
const STATE_ALIASES: Record<string, string> = { cancelled: 'canceled' };

/** `state=a,b`: one or more of `all`, comma-separated; an unknown one is refused with the list of valid ones. */
function statesParam<S extends string>(all: readonly S[], what: string) {
  const valid = `must be one or more of ${all.join(', ')} (comma-separated)`;
  return z
    .string()
    .transform((s, ctx) => {
      const states = s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map((x) => STATE_ALIASES[x] ?? x);
      const unknown = states.filter((x) => !(all as readonly string[]).includes(x));
      if (unknown.length || !states.length) {
        const named = unknown.length ? `; ${unknown.map((x) => JSON.stringify(x)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not one` : '';
        ctx.addIssue({ code: 'custom', message: `${valid}${named}` });
        return z.NEVER;
      }
      return [...new Set(states)] as S[];
    })
    .describe(`${what} state(s), comma-separated: ${all.join(', ')} ("cancelled" is read as "canceled")`);
}

const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SINCE_MESSAGE = 'must be an ISO-8601 time like 2025-01-31T12:00:00Z, a date like 2025-01-31 (UTC midnight) or a duration back from now like 90m, 2h, 7d';

/** Why `since` is not a duration (`90m`, `2h`, `7d`), a date (`2025-01-31`) or an ISO-8601 time with offset; null when it is one. */
export function sinceProblem(v: string): string | null {
  if (DURATION.test(v)) return null;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(v);
  if (!date && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) return SINCE_MESSAGE;
  const ms = Date.parse(v);
  if (Number.isNaN(ms) || (date && new Date(ms).toISOString().slice(0, 10) !== v)) return SINCE_MESSAGE;
  return timeProblem(ms);
}

/** The time `since` names, given the server's now (a date is its UTC midnight). */
export function sinceTime(since: string, now: number): number {
  const m = DURATION.exec(since);
  return m ? now - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : Date.parse(since);
}

/** `since`: a duration back from now, a date or an ISO-8601 time. */
export const sinceValue = z.string().superRefine((v, ctx) => {
  const problem = sinceProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const namespaceParam = text().min(1).max(256).optional().describe('Source namespace');
const repositoryParam = text().min(1).max(256).optional().describe('Source repository: `repository`, or `namespace/repository` (then the part before the first "/" is the namespace)');

export const listTasksQuery = z.strictObject({
  state: statesParam(TASK_STATES, 'Task').optional(),
  provider: z
    .string()
    .refine((p) => providerNamed(p) !== undefined, {
      error: () =>
        `must be one of ${providers()
          .map((p) => p.name)
          .join(', ')}`,
    })
    .optional(),
  namespace: namespaceParam,
  repository: repositoryParam,
  action: z
    .enum(TASK_ACTIONS, { error: `must be one of ${TASK_ACTIONS.join(', ')}` })
    .optional()
    .describe('copy, or delete (deletion replication)'),
  since: sinceValue.optional().describe('Tasks created at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time'),
  cursor: listCursor.optional().describe('nextCursor of the previous page'),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number 1..500 (decimal digits)')
    .transform(Number)
    .pipe(z.number().min(1, 'must be 1..500').max(500, 'must be 1..500'))
    .optional(),
});

export const listReplicationsQuery = z.strictObject({
  state: statesParam(REPLICATION_STATES, 'Replication').optional(),
  namespace: namespaceParam,
  repository: repositoryParam,
  since: sinceValue.optional().describe('Replications received at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time'),
  cursor: listCursor.optional().describe('nextCursor of the previous page'),
  limit: listTasksQuery.shape.limit,
});

/**
 * The image filter of a listing: `repository=ns/repo` names both (split at the first "/");
 * `namespace` with it must agree. Throws a message naming the field.
 */
export function imageFilter(q: { namespace?: string | undefined; repository?: string | undefined }): { namespace?: string; repository?: string } {
  let { namespace, repository } = q;
  const slash = repository?.indexOf('/') ?? -1;
  if (repository !== undefined && slash >= 0) {
    const ns = repository.slice(0, slash);
    const repo = repository.slice(slash + 1);
    if (!ns || !repo) throw new ImageFilterError('query.repository', 'must be "repository" or "namespace/repository" with both parts non-empty');
    if (namespace !== undefined && namespace !== ns) throw new ImageFilterError('query.namespace', `"${namespace}" contradicts the namespace "${ns}" of query.repository`);
    namespace = ns;
    repository = repo;
  }
  return { ...(namespace !== undefined ? { namespace } : {}), ...(repository !== undefined ? { repository } : {}) };
}

export class ImageFilterError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

// ---------------------------------------------------------------- responses

const iso = z.string().describe('ISO-8601 UTC time');
const nullableIso = iso.nullable();

export const taskSchema = z.object({
  id: z.string(),
  replicationId: z.string(),
  idempotencyKey: z.string(),
  action: z.enum(TASK_ACTIONS).describe('copy the image to the target, or delete the tag Ferry copied there'),
  provider: z.string().describe('the provider that copies it (`acr`, `swr`, …)'),
  scope: z.string(),
  target: z
    .object({
      from: z
        .looseObject({
          source: z.string().describe("the configured source's name"),
          kind: z.string().describe("the configured source's kind (acr, swr, harbor, …)"),
          namespace: z.string(),
          repository: z.string(),
          tag: z.string().optional(),
          digest: z.string().optional(),
          instanceId: z.string().optional().describe('ACR: the source instance'),
          region: z.string().optional().describe('ACR and SWR: the source region'),
        })
        .describe('the pushed image'),
      to: z.looseObject({ provider: z.string() }).describe("where it goes: the provider's own fields (instance or registry, region, namespace, repository, tag, …)"),
      written: z.object({ digest: z.string() }).optional().describe('a deletion: the digest the copy wrote there, when it differs from the source'),
    })
    .describe('where the image comes from and where it goes'),
  targetKey: z.string(),
  rule: z.string().nullable(),
  state: z.enum(TASK_STATES),
  attempts: z.number().int().describe('submissions ever made, across reruns'),
  maxAttempts: z.number().int().describe('the attempts the current budget allows, counted like attempts'),
  attemptBase: z.number().int().describe('attempts when the current budget began (a retry starts a fresh one)'),
  reruns: z.number().int().describe('times a retry or a redelivered push re-opened the task'),
  nextAttemptAt: nullableIso,
  deadlineAt: nullableIso,
  submitStartedAt: nullableIso,
  cloudRef: z.string().nullable(),
  cloudCreatedAt: nullableIso,
  cloudStatus: z.string().nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), requestId: z.string().nullable() }).nullable(),
  leaseOwner: z.string().nullable(),
  leaseExpiresAt: nullableIso,
  cancelRequestedAt: nullableIso,
  cancelReason: z.string().nullable(),
  policy: z.object({
    maxAttempts: z.number().int(),
    backoff: z.object({ initialSeconds: z.number(), maxSeconds: z.number(), multiplier: z.number() }),
    deadlineMinutes: z.number(),
    retryOnTimeout: z.boolean(),
  }),
  createdAt: iso,
  updatedAt: iso,
  finishedAt: nullableIso,
});

export const taskEventSchema = z.object({
  id: z.number().int(),
  taskId: z.string(),
  at: iso,
  fromState: z.enum(TASK_STATES).nullable(),
  toState: z.enum(TASK_STATES),
  reason: z.string(),
  actor: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export const ecsTaskSchema = z.object({
  region: z.string(),
  taskId: z.string(),
  action: z.string(),
  ferryTaskId: z.string().nullable(),
  resourceId: z.string().nullable(),
  cloudStatus: z.string().nullable(),
  state: z.enum(ECS_WATCH_STATES),
  deadlineAt: nullableIso,
  lastError: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: iso,
  updatedAt: iso,
  finishedAt: nullableIso,
});

export const taskListResponse = z.object({ items: z.array(taskSchema), nextCursor: z.string().nullable() });

export const taskDetailResponse = z.object({
  task: taskSchema,
  events: z.array(taskEventSchema),
  cloudRefs: z.array(z.object({ cloudRef: z.string(), attempt: z.number().int(), createdAt: nullableIso, recordedAt: iso })),
});

export const ecsTaskDetailResponse = z.object({ ecsTask: ecsTaskSchema });

export const replicationSchema = z.object({
  id: z.string(),
  sourceKey: z.string(),
  sourceKind: z.string(),
  action: z.enum(TASK_ACTIONS).describe('copy (a push) or delete (a deletion at the source)'),
  source: z.string(),
  region: z.string().nullable(),
  namespace: z.string(),
  repository: z.string(),
  tag: z.string().nullable(),
  digest: z.string().nullable(),
  pushedAt: nullableIso,
  receivedAt: iso,
  rules: z.array(z.string()),
  details: z.record(z.string(), z.unknown()),
  state: z.enum(REPLICATION_STATES),
  createdAt: iso,
  updatedAt: iso,
});

export const replicationResponse = z.object({ replication: replicationSchema, tasks: z.array(taskSchema) });

export const replicationListResponse = z.object({ items: z.array(replicationSchema), nextCursor: z.string().nullable() });

export const cancelResponse = z.object({
  state: z.literal('canceled'),
  alreadyCanceled: z.boolean().describe('true when it was canceled before this request (idempotent repeat)'),
  provider: z.string().describe('the provider (or `ecs`) whose cloud work was canceled'),
  taskId: z.string().nullable().describe('Ferry task id, when the ledger knows the task'),
  cloudCall: z.boolean().describe('whether a cloud API was called'),
  cloudStatus: z.string().nullable(),
  requestId: z.string().nullable().describe("the cloud's request id of the cancel call"),
  note: z.string().optional(),
  task: taskSchema.optional(),
});
/** The ledger's task row is what `task` carries (its `target` a TaskTarget, stored as JSON). */
export type CancelResponse = Omit<z.infer<typeof cancelResponse>, 'task'> & { task?: TaskRow };

// ---------------------------------------------------------------- the webhook (POST /webhooks/{kind})

const webhookTarget = z.object({
  rule: z.string(),
  targetKey: z.string().optional(),
  target: z.record(z.string(), z.unknown()).optional(),
  taskId: z.string().optional(),
  state: z.string().describe('task state after this delivery (pending, submitted, failed, …)'),
  duplicate: z.boolean().optional().describe('the task existed before this delivery (succeeded or in flight)'),
  reopened: z.boolean().optional().describe('the task had failed, was canceled or timed out: this delivery re-opened it'),
  cloudRef: z.string().optional(),
  error: z
    .object({ code: z.string(), message: z.string(), field: z.string().optional(), requestId: z.string().nullable().optional() })
    .optional()
    .describe("this target's failure (a rendered name that breaks a rule, or the cloud's refusal); not an HTTP error"),
});

/** What the webhook answers a delivery it accepted (202) or had nothing to do for (200). */
export const webhookResponse = z.object({
  requestId: z.string(),
  kind: z.string(),
  matched: z.number().int().describe('rule targets the pushes matched'),
  created: z.number().int().optional(),
  duplicates: z.number().int().optional(),
  reopened: z.number().int().optional().describe('failed, canceled or timed-out targets this delivery re-opened'),
  replicationId: z.string().optional().describe('the first replication'),
  replications: z
    .array(
      z.object({
        replicationId: z.string(),
        action: z.literal('delete').optional().describe("present when the targets' tags are deleted (a delete event)"),
        created: z.boolean(),
        image: z.object({ source: z.string(), namespace: z.string(), repository: z.string(), tag: z.string().optional(), digest: z.string().optional() }),
        targets: z.array(webhookTarget),
      }),
    )
    .optional(),
  ignored: z.array(z.string()).optional().describe('events of the delivery that are not pushes'),
  skipped: z
    .array(z.object({ rule: z.string().nullable(), targetKey: z.string(), copyTaskId: z.string(), reason: z.string() }))
    .optional()
    .describe('targets a delete event leaves alone, and why'),
  reason: z.string().optional().describe('why nothing (or not everything) was replicated'),
});

/** Every error answer (webhook, API, runtime): the shared envelope of shared/http/errors.ts. */
export const errorResponse = errorEnvelopeSchema;
export type ErrorBody = ErrorDetail;

export const healthResponse = z.object({
  ok: z.boolean(),
  backend: z.string(),
  schemaVersion: z.number().int().optional(),
  openTasks: z.number().int().optional(),
  latencyMs: z.number(),
  error: z.string().optional(),
  sweep: z
    .object({
      lastCompletedAt: z.string().nullable().describe('When the last sweep completed (null: none has yet)'),
      ageSeconds: z.number().int().nullable(),
      staleAfterSeconds: z.number().int().describe('config sweep.staleAfterSeconds'),
      stale: z.boolean().describe('The last sweep is older than staleAfterSeconds (then ok is false and the answer is 503)'),
    })
    .optional(),
});

const TRIGGER_STATES = ['present', 'missing', 'created', 'token_differs', 'name_taken', 'failed'] as const;
export const triggersResponse = z.object({
  applied: z.boolean().describe('Whether missing triggers were created (POST /triggers/apply)'),
  sources: z.array(
    z.object({
      source: z.string(),
      kind: z.string(),
      skipped: z.string().optional().describe('Why this source was not checked'),
      repositories: z.array(
        z.object({
          namespace: z.string(),
          repository: z.string(),
          state: z.enum(TRIGGER_STATES),
          triggerId: z.string().optional(),
          url: z.string().optional().describe('The trigger URL, its token elided'),
          error: z.object({ code: z.string(), message: z.string() }).optional(),
        }),
      ),
    }),
  ),
  counts: z.record(z.enum(TRIGGER_STATES), z.number().int()),
});
