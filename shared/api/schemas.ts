/**
 * Request and response shapes of the operator API. Requests are validated with these schemas;
 * the OpenAPI document (openapi.ts) is generated from the same ones.
 */
import * as z from '../zod.ts';
import * as naming from '../rules/naming.ts';
import { ALIBABA_REGIONS, HUAWEI_REGIONS } from '../rules/regions.ts';
import { errorEnvelopeSchema, type ErrorDetail } from '../http/errors.ts';
import { textProblem, timeProblem } from '../http/values.ts';
import { TASK_STATES, REPLICATION_STATES, ECS_WATCH_STATES, checkListCursor, type TaskRow } from '../ledger/index.ts';
import { providerNamed, providers } from '../providers/registry.ts';
import type { SchemaKit } from '../providers/types.ts';

/** A string passing one of the naming rules; the rule's sentence becomes the issue message. */
function named(check: naming.NameCheck, description: string, pattern?: RegExp) {
  const base = pattern ? z.string().check(z.regex(pattern, check('') ?? 'invalid')) : z.string();
  return base
    .check(
      z.superRefine((v, ctx) => {
        const reason = check(v);
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      }),
    )
    .check(z.describe(description));
}

const alibabaRegion = z.enum(ALIBABA_REGIONS, { message: 'must be an Alibaba Cloud region id Ferry knows, like "cn-hangzhou"' }).check(z.describe('Alibaba Cloud region id'));
const huaweiRegion = z.enum(HUAWEI_REGIONS, { message: 'must be a Huawei Cloud region id Ferry knows, like "cn-north-4"' }).check(z.describe('Huawei Cloud region id'));

export const uuidParam = z.uuid({ message: 'must be a UUID' });

/** A page cursor this API handed out (`nextCursor`). */
export const listCursor = z
  .string()
  .check(z.minLength(1))
  .check(z.maxLength(512))
  .check(z.refine((c) => checkListCursor(c) === null, { error: 'is not a nextCursor this API returned' }));

/** A string the ledger can store: no NUL, no lone surrogate (shared/http/values.ts). */
const text = () =>
  z.string().check(
    z.superRefine((v, ctx) => {
      const problem = textProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

export const cancelTaskBody = z
  .strictObject({ reason: z.optional(text().check(z.trim()).check(z.minLength(1, 'must not be empty')).check(z.maxLength(500, 'must be at most 500 characters'))) })
  .check(z.describe('Optional reason, recorded in the task history'));

/** `POST /cancel` for an ECS image import/export task (ECS is watched, not a replication provider). */
export const ECS_REFERENCE = 'ecs';

const referenceKit: SchemaKit = {
  checked: (check, pattern) => named(check, '', pattern),
  template: () => z._default(z.string(), ''),
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
    ...providers().flatMap((p) => (p.reference ? [z.extend(p.reference.schema(referenceKit), { provider: z.literal(p.name), reason: cancelTaskBody.shape.reason })] : [])),
  ];
  const names = shapes.map((sh) => `"${String((sh.shape.provider as z.ZodMiniLiteral).def.values[0])}"`).sort();
  return z.discriminatedUnion('provider', shapes as unknown as [z.ZodMiniObject, ...z.ZodMiniObject[]], {
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
    .pipe(
      z.string(),
      z.transform((s, ctx) => {
        const states = s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((x) => STATE_ALIASES[x] ?? x);
        const unknown = states.filter((x) => !(all as readonly string[]).includes(x));
        if (unknown.length || !states.length) {
          const named = unknown.length ? `; ${unknown.map((x) => JSON.stringify(x)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not one` : '';
          ctx.issues.push({ code: 'custom', input: s, message: `${valid}${named}` });
          return z.NEVER;
        }
        return [...new Set(states)] as S[];
      }),
    )
    .check(z.describe(`${what} state(s), comma-separated: ${all.join(', ')} ("cancelled" is read as "canceled")`));
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
export const sinceValue = z.string().check(
  z.superRefine((v, ctx) => {
    const problem = sinceProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

const namespaceParam = z.optional(text().check(z.minLength(1)).check(z.maxLength(256))).check(z.describe('Source namespace'));
const repositoryParam = z
  .optional(text().check(z.minLength(1)).check(z.maxLength(256)))
  .check(z.describe('Source repository: `repository`, or `namespace/repository` (then the part before the first "/" is the namespace)'));

export const listTasksQuery = z.strictObject({
  state: z.optional(statesParam(TASK_STATES, 'Task')),
  provider: z.optional(
    z.string().check(
      z.refine((p) => providerNamed(p) !== undefined, {
        error: () =>
          `must be one of ${providers()
            .map((p) => p.name)
            .join(', ')}`,
      }),
    ),
  ),
  namespace: namespaceParam,
  repository: repositoryParam,
  action: z.optional(z.enum(TASK_ACTIONS, { error: `must be one of ${TASK_ACTIONS.join(', ')}` })).check(z.describe('copy, or delete (deletion replication)')),
  since: z.optional(sinceValue).check(z.describe('Tasks created at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time')),
  cursor: z.optional(listCursor).check(z.describe('nextCursor of the previous page')),
  limit: z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d{1,3}$/, 'must be a whole number 1..500 (decimal digits)')), z.transform(Number)),
      z.number().check(z.gte(1, 'must be 1..500')).check(z.lte(500, 'must be 1..500')),
    ),
  ),
});

export const listReplicationsQuery = z.strictObject({
  state: z.optional(statesParam(REPLICATION_STATES, 'Replication')),
  namespace: namespaceParam,
  repository: repositoryParam,
  since: z.optional(sinceValue).check(z.describe('Replications received at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time')),
  cursor: z.optional(listCursor).check(z.describe('nextCursor of the previous page')),
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

const iso = z.string().check(z.describe('ISO-8601 UTC time'));
const nullableIso = z.nullable(iso);

export const taskSchema = z.object({
  id: z.string(),
  replicationId: z.string(),
  idempotencyKey: z.string(),
  action: z.enum(TASK_ACTIONS).check(z.describe('copy the image to the target, or delete the tag Ferry copied there')),
  provider: z.string().check(z.describe('the provider that copies it (`acr`, `swr`, …)')),
  scope: z.string(),
  target: z
    .object({
      from: z
        .looseObject({
          source: z.string().check(z.describe("the configured source's name")),
          kind: z.string().check(z.describe("the configured source's kind (acr, swr, harbor, …)")),
          namespace: z.string(),
          repository: z.string(),
          tag: z.optional(z.string()),
          digest: z.optional(z.string()),
          instanceId: z.optional(z.string()).check(z.describe('ACR: the source instance')),
          region: z.optional(z.string()).check(z.describe('ACR and SWR: the source region')),
        })
        .check(z.describe('the pushed image')),
      to: z.looseObject({ provider: z.string() }).check(z.describe("where it goes: the provider's own fields (instance or registry, region, namespace, repository, tag, …)")),
      written: z.optional(z.object({ digest: z.string() })).check(z.describe('a deletion: the digest the copy wrote there, when it differs from the source')),
    })
    .check(z.describe('where the image comes from and where it goes')),
  targetKey: z.string(),
  rule: z.nullable(z.string()),
  state: z.enum(TASK_STATES),
  attempts: z.int().check(z.describe('submissions ever made, across reruns')),
  maxAttempts: z.int().check(z.describe('the attempts the current budget allows, counted like attempts')),
  attemptBase: z.int().check(z.describe('attempts when the current budget began (a retry starts a fresh one)')),
  reruns: z.int().check(z.describe('times a retry or a redelivered push re-opened the task')),
  nextAttemptAt: nullableIso,
  deadlineAt: nullableIso,
  submitStartedAt: nullableIso,
  cloudRef: z.nullable(z.string()),
  cloudCreatedAt: nullableIso,
  cloudStatus: z.nullable(z.string()),
  lastError: z.nullable(z.object({ code: z.string(), message: z.string(), requestId: z.nullable(z.string()) })),
  leaseOwner: z.nullable(z.string()),
  leaseExpiresAt: nullableIso,
  cancelRequestedAt: nullableIso,
  cancelReason: z.nullable(z.string()),
  policy: z.object({
    maxAttempts: z.int(),
    backoff: z.object({ initialSeconds: z.number(), maxSeconds: z.number(), multiplier: z.number() }),
    deadlineMinutes: z.number(),
    retryOnTimeout: z.boolean(),
  }),
  createdAt: iso,
  updatedAt: iso,
  finishedAt: nullableIso,
});

export const taskEventSchema = z.object({
  id: z.int(),
  taskId: z.string(),
  at: iso,
  fromState: z.nullable(z.enum(TASK_STATES)),
  toState: z.enum(TASK_STATES),
  reason: z.string(),
  actor: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export const ecsTaskSchema = z.object({
  region: z.string(),
  taskId: z.string(),
  action: z.string(),
  ferryTaskId: z.nullable(z.string()),
  resourceId: z.nullable(z.string()),
  cloudStatus: z.nullable(z.string()),
  state: z.enum(ECS_WATCH_STATES),
  deadlineAt: nullableIso,
  lastError: z.nullable(z.object({ code: z.string(), message: z.string() })),
  createdAt: iso,
  updatedAt: iso,
  finishedAt: nullableIso,
});

export const taskListResponse = z.object({ items: z.array(taskSchema), nextCursor: z.nullable(z.string()) });

export const taskDetailResponse = z.object({
  task: taskSchema,
  events: z.array(taskEventSchema),
  cloudRefs: z.array(z.object({ cloudRef: z.string(), attempt: z.int(), createdAt: nullableIso, recordedAt: iso })),
});

export const ecsTaskDetailResponse = z.object({ ecsTask: ecsTaskSchema });

export const replicationSchema = z.object({
  id: z.string(),
  sourceKey: z.string(),
  sourceKind: z.string(),
  action: z.enum(TASK_ACTIONS).check(z.describe('copy (a push) or delete (a deletion at the source)')),
  source: z.string(),
  region: z.nullable(z.string()),
  namespace: z.string(),
  repository: z.string(),
  tag: z.nullable(z.string()),
  digest: z.nullable(z.string()),
  pushedAt: nullableIso,
  receivedAt: iso,
  rules: z.array(z.string()),
  details: z.record(z.string(), z.unknown()),
  state: z.enum(REPLICATION_STATES),
  createdAt: iso,
  updatedAt: iso,
});

export const replicationResponse = z.object({ replication: replicationSchema, tasks: z.array(taskSchema) });

export const replicationListResponse = z.object({ items: z.array(replicationSchema), nextCursor: z.nullable(z.string()) });

export const cancelResponse = z.object({
  state: z.literal('canceled'),
  alreadyCanceled: z.boolean().check(z.describe('true when it was canceled before this request (idempotent repeat)')),
  provider: z.string().check(z.describe('the provider (or `ecs`) whose cloud work was canceled')),
  taskId: z.nullable(z.string()).check(z.describe('Ferry task id, when the ledger knows the task')),
  cloudCall: z.boolean().check(z.describe('whether a cloud API was called')),
  cloudStatus: z.nullable(z.string()),
  requestId: z.nullable(z.string()).check(z.describe("the cloud's request id of the cancel call")),
  note: z.optional(z.string()),
  task: z.optional(taskSchema),
});
/** The ledger's task row is what `task` carries (its `target` a TaskTarget, stored as JSON). */
export type CancelResponse = Omit<z.infer<typeof cancelResponse>, 'task'> & { task?: TaskRow };

// ---------------------------------------------------------------- the webhook (POST /webhooks/{kind})

const webhookTarget = z.object({
  rule: z.string(),
  targetKey: z.optional(z.string()),
  target: z.optional(z.record(z.string(), z.unknown())),
  taskId: z.optional(z.string()),
  state: z.string().check(z.describe('task state after this delivery (pending, submitted, failed, …)')),
  duplicate: z.optional(z.boolean()).check(z.describe('the task existed before this delivery (succeeded or in flight)')),
  reopened: z.optional(z.boolean()).check(z.describe('the task had failed, was canceled or timed out: this delivery re-opened it')),
  cloudRef: z.optional(z.string()),
  error: z
    .optional(z.object({ code: z.string(), message: z.string(), field: z.optional(z.string()), requestId: z.optional(z.nullable(z.string())) }))
    .check(z.describe("this target's failure (a rendered name that breaks a rule, or the cloud's refusal); not an HTTP error")),
});

/** What the webhook answers a delivery it accepted (202) or had nothing to do for (200). */
export const webhookResponse = z.object({
  requestId: z.string(),
  kind: z.string(),
  matched: z.int().check(z.describe('rule targets the pushes matched')),
  created: z.optional(z.int()),
  duplicates: z.optional(z.int()),
  reopened: z.optional(z.int()).check(z.describe('failed, canceled or timed-out targets this delivery re-opened')),
  replicationId: z.optional(z.string()).check(z.describe('the first replication')),
  replications: z.optional(
    z.array(
      z.object({
        replicationId: z.string(),
        action: z.optional(z.literal('delete')).check(z.describe("present when the targets' tags are deleted (a delete event)")),
        created: z.boolean(),
        image: z.object({ source: z.string(), namespace: z.string(), repository: z.string(), tag: z.optional(z.string()), digest: z.optional(z.string()) }),
        targets: z.array(webhookTarget),
      }),
    ),
  ),
  ignored: z.optional(z.array(z.string())).check(z.describe('events of the delivery that are not pushes')),
  skipped: z
    .optional(z.array(z.object({ rule: z.nullable(z.string()), targetKey: z.string(), copyTaskId: z.string(), reason: z.string() })))
    .check(z.describe('targets a delete event leaves alone, and why')),
  reason: z.optional(z.string()).check(z.describe('why nothing (or not everything) was replicated')),
});

/** Every error answer (webhook, API, runtime): the shared envelope of shared/http/errors.ts. */
export const errorResponse = errorEnvelopeSchema;
export type ErrorBody = ErrorDetail;

export const healthResponse = z.object({
  ok: z.boolean(),
  backend: z.string(),
  schemaVersion: z.optional(z.int()),
  openTasks: z.optional(z.int()),
  latencyMs: z.number(),
  error: z.optional(z.string()),
  sweep: z.optional(
    z.object({
      lastCompletedAt: z.nullable(z.string()).check(z.describe('When the last sweep completed (null: none has yet)')),
      ageSeconds: z.nullable(z.int()),
      staleAfterSeconds: z.int().check(z.describe('config sweep.staleAfterSeconds')),
      stale: z.boolean().check(z.describe('The last sweep is older than staleAfterSeconds (then ok is false and the answer is 503)')),
    }),
  ),
});

const TRIGGER_STATES = ['present', 'missing', 'created', 'token_differs', 'name_taken', 'failed'] as const;
export const triggersResponse = z.object({
  applied: z.boolean().check(z.describe('Whether missing triggers were created (POST /triggers/apply)')),
  sources: z.array(
    z.object({
      source: z.string(),
      kind: z.string(),
      skipped: z.optional(z.string()).check(z.describe('Why this source was not checked')),
      repositories: z.array(
        z.object({
          namespace: z.string(),
          repository: z.string(),
          state: z.enum(TRIGGER_STATES),
          triggerId: z.optional(z.string()),
          url: z.optional(z.string()).check(z.describe('The trigger URL, its token elided')),
          error: z.optional(z.object({ code: z.string(), message: z.string() })),
        }),
      ),
    }),
  ),
  counts: z.record(z.enum(TRIGGER_STATES), z.int()),
});
