/** Request and response shapes of re-running tasks (`/tasks/{id}/retry`, `/replications/{id}/retry`, `/tasks/retry`) and of `POST /plan`. */
import * as z from '../zod.ts';
import { RERUNNABLE_STATES, type RerunnableState } from '../ledger/index.ts';
import { textProblem } from '../http/values.ts';
import { cancelTaskBody, listCursor, sinceValue as baseSince, taskSchema } from './schemas.ts';

const text = () =>
  z.string().check(
    z.superRefine((v, ctx) => {
      const problem = textProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

export const retryTaskBody = z.strictObject({ reason: cancelTaskBody.shape.reason }).check(z.describe('Optional reason, recorded in the task history with who asked'));

export { sinceTime } from './schemas.ts';

/** `since`: a duration back from now (`90m`, `2h`, `7d`), a date or an ISO-8601 time. */
export const sinceValue = baseSince.check(z.describe('Tasks that ended at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time'));

const STATES_MESSAGE = `must be one of ${RERUNNABLE_STATES.join(', ')}, or a list of them`;
const rerunnableState = z.enum(RERUNNABLE_STATES, { message: STATES_MESSAGE });

export const bulkRetryBody = z
  .strictObject({
    state: z
      .optional(z.union([rerunnableState, z.array(rerunnableState).check(z.minLength(1, STATES_MESSAGE))], { message: STATES_MESSAGE }))
      .check(z.describe('Which finished tasks (default failed)')),
    rule: z.optional(text().check(z.minLength(1, 'must not be empty')).check(z.maxLength(256, 'must be at most 256 characters'))).check(z.describe('Only tasks of this configured rule')),
    since: z.optional(sinceValue),
    limit: z.optional(z.int('must be a whole number').check(z.gte(1, 'must be 1..500')).check(z.lte(500, 'must be 1..500'))).check(z.describe('Tasks per page (default 100)')),
    cursor: z.optional(listCursor).check(z.describe('nextCursor of the previous page')),
    dryRun: z.optional(z.boolean()).check(z.describe('List what would be re-opened; change nothing')),
    reason: cancelTaskBody.shape.reason,
  })
  .check(z.describe('Re-run finished tasks matching a filter, one page per call'));

export function statesOf(s: RerunnableState | RerunnableState[] | undefined): RerunnableState[] {
  return s === undefined ? ['failed'] : Array.isArray(s) ? [...new Set(s)] : [s];
}

export const retryResponse = z.object({
  taskId: z.string(),
  reopened: z.boolean().check(z.describe('true: this request re-opened it')),
  alreadyReopened: z.boolean().check(z.describe('true: an earlier retry (or redelivery) re-opened it and it is still running; nothing was changed')),
  previousState: z.string().check(z.describe('the state the task was in when asked')),
  task: taskSchema,
});

export const replicationRetryResponse = z.object({
  replicationId: z.string(),
  reopened: z.int().check(z.describe('tasks this request re-opened')),
  alreadyReopened: z.int().check(z.describe('tasks re-opened before and still running')),
  tasks: z.array(z.object({ taskId: z.string(), previousState: z.string(), state: z.string(), reopened: z.boolean() })),
});

export const bulkRetryResponse = z.object({
  dryRun: z.boolean(),
  matched: z.int().check(z.describe('tasks of this page that match the filter')),
  reopened: z.int().check(z.describe('tasks re-opened (0 in a dry run)')),
  tasks: z.array(
    z.object({ taskId: z.string(), rule: z.nullable(z.string()), targetKey: z.string(), previousState: z.string(), finishedAt: z.nullable(z.string()), lastError: z.nullable(z.string()) }),
  ),
  nextCursor: z.nullable(z.string()).check(z.describe('pass back as cursor for the next page; null on the last')),
});

// ---------------------------------------------------------------- POST /plan

const name = (what: string) => text().check(z.minLength(1, 'must not be empty')).check(z.maxLength(256, 'must be at most 256 characters')).check(z.describe(what));
const digest = z
  .string()
  .check(z.regex(/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/, 'must be sha256: + 64 or sha512: + 128 lowercase hex digits'))
  .check(z.describe('The image digest (looked up at the source when left out)'));

export const planBody = z
  .strictObject({
    image: z.optional(name('An image reference of a configured registry: host/namespace/repository[:tag][@digest]')),
    source: z.optional(name('A configured source')),
    namespace: z.optional(name('Namespace')),
    repository: z.optional(name('Repository below the namespace')),
    tag: z.optional(name('Tag')),
    digest: z.optional(digest),
  })
  .check(
    z.superRefine((b, ctx) => {
      if (b.image !== undefined) {
        for (const k of ['source', 'namespace', 'repository', 'tag', 'digest'] as const) {
          if (b[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'give either image, or source + namespace + repository + tag/digest, not both' });
        }
        return;
      }
      for (const k of ['source', 'namespace', 'repository'] as const) {
        if (b[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'is required (or give image)' });
      }
      if (b.tag === undefined && b.digest === undefined) ctx.addIssue({ code: 'custom', path: ['tag'], message: 'tag or digest is required' });
    }),
  )
  .check(z.describe('The image to plan for: a configured source and its names, or an image reference'));

const errorInfo = z.object({ code: z.string(), message: z.string(), requestId: z.nullable(z.string()) });

const atTarget = z.discriminatedUnion('state', [
  z.object({ state: z.literal('present'), digest: z.string() }),
  z.object({ state: z.literal('different'), digest: z.string() }),
  z.object({ state: z.literal('absent') }),
  z.object({ state: z.literal('unknown'), reason: z.string() }),
  z.object({ state: z.literal('error'), error: errorInfo }),
]);

export const planResponse = z.object({
  image: z.object({ source: z.string(), kind: z.string(), namespace: z.string(), repository: z.string(), tag: z.optional(z.string()), digest: z.optional(z.string()) }),
  matchedAs: z.optional(z.string()).check(z.describe('the source rules see the push as (a registry mirroring another)')),
  digest: z.object({ value: z.nullable(z.string()), from: z.nullable(z.enum(['given', 'source'])), error: z.optional(errorInfo) }).check(z.describe('the source digest compared with the targets')),
  rules: z.array(
    z.object({
      rule: z.string(),
      matched: z.boolean(),
      reason: z.optional(z.string()).check(z.describe('why the rule does not match')),
      targets: z.array(
        z.object({
          targetIndex: z.int(),
          provider: z.optional(z.string()),
          targetKey: z.optional(z.string()),
          target: z.optional(z.record(z.string(), z.unknown())).check(z.describe('the rendered target')),
          error: z.optional(z.object({ field: z.string(), reason: z.string() })).check(z.describe('the naming rule the rendered target breaks')),
          atTarget: z.optional(atTarget).check(z.describe('whether the target already holds the image')),
          task: z.optional(z.object({ id: z.string(), state: z.string() })).check(z.describe("the ledger's task for this image and target")),
          action: z.enum(['create', 'skip', 'duplicate', 'reopen', 'refused']).check(z.describe('what a push now would do')),
          onDelete: z
            .optional(z.object({ delete: z.boolean(), copyTaskId: z.optional(z.string()), reason: z.optional(z.string()) }))
            .check(z.describe('whether a delete event of this image would delete the tag here (the copy task proving Ferry wrote it, or why not)')),
        }),
      ),
    }),
  ),
  wouldCreate: z.int(),
  wouldReopen: z.int(),
  deletion: z
    .object({
      targets: z.array(z.object({ rule: z.string(), targetKey: z.string(), copyTaskId: z.string(), tag: z.string(), digest: z.string() })),
      skipped: z.array(z.object({ rule: z.nullable(z.string()), targetKey: z.string(), copyTaskId: z.string(), reason: z.string() })),
      reason: z.optional(z.string()),
    })
    .check(z.describe("what a delete event of this image would delete (deletion replication, rules with deletes: true): only targets Ferry's ledger proves it copied it to")),
  reason: z.optional(z.string()),
});
