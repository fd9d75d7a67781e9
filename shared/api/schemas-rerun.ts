/** Request and response shapes of re-running tasks (`/tasks/{id}/retry`, `/replications/{id}/retry`, `/tasks/retry`) and of `POST /plan`. */
import { z } from 'zod';
import { RERUNNABLE_STATES, type RerunnableState } from '../ledger/index.ts';
import { textProblem } from '../http/values.ts';
import { cancelTaskBody, listCursor, sinceValue as baseSince, taskSchema } from './schemas.ts';

const text = () =>
  z.string().superRefine((v, ctx) => {
    const problem = textProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const retryTaskBody = z.strictObject({ reason: cancelTaskBody.shape.reason }).describe('Optional reason, recorded in the task history with who asked');

export { sinceTime } from './schemas.ts';

/** `since`: a duration back from now (`90m`, `2h`, `7d`), a date or an ISO-8601 time. */
export const sinceValue = baseSince.describe('Tasks that ended at or after: a duration back from now (90m, 2h, 7d), a date (2025-01-31, UTC) or an ISO-8601 time');

const STATES_MESSAGE = `must be one of ${RERUNNABLE_STATES.join(', ')}, or a list of them`;
const rerunnableState = z.enum(RERUNNABLE_STATES, { message: STATES_MESSAGE });

export const bulkRetryBody = z
  .strictObject({
    state: z
      .union([rerunnableState, z.array(rerunnableState).min(1, STATES_MESSAGE)], { message: STATES_MESSAGE })
      .optional()
      .describe('Which finished tasks (default failed)'),
    rule: text().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional().describe('Only tasks of this configured rule'),
    since: sinceValue.optional(),
    limit: z.number().int('must be a whole number').min(1, 'must be 1..500').max(500, 'must be 1..500').optional().describe('Tasks per page (default 100)'),
    cursor: listCursor.optional().describe('nextCursor of the previous page'),
    dryRun: z.boolean().optional().describe('List what would be re-opened; change nothing'),
    reason: cancelTaskBody.shape.reason,
  })
  .describe('Re-run finished tasks matching a filter, one page per call');

export function statesOf(s: RerunnableState | RerunnableState[] | undefined): RerunnableState[] {
  return s === undefined ? ['failed'] : Array.isArray(s) ? [...new Set(s)] : [s];
}

export const retryResponse = z.object({
  taskId: z.string(),
  reopened: z.boolean().describe('true: this request re-opened it'),
  alreadyReopened: z.boolean().describe('true: an earlier retry (or redelivery) re-opened it and it is still running; nothing was changed'),
  previousState: z.string().describe('the state the task was in when asked'),
  task: taskSchema,
});

export const replicationRetryResponse = z.object({
  replicationId: z.string(),
  reopened: z.number().int().describe('tasks this request re-opened'),
  alreadyReopened: z.number().int().describe('tasks re-opened before and still running'),
  tasks: z.array(z.object({ taskId: z.string(), previousState: z.string(), state: z.string(), reopened: z.boolean() })),
});

export const bulkRetryResponse = z.object({
  dryRun: z.boolean(),
  matched: z.number().int().describe('tasks of this page that match the filter'),
  reopened: z.number().int().describe('tasks re-opened (0 in a dry run)'),
  tasks: z.array(z.object({ taskId: z.string(), rule: z.string().nullable(), targetKey: z.string(), previousState: z.string(), finishedAt: z.string().nullable(), lastError: z.string().nullable() })),
  nextCursor: z.string().nullable().describe('pass back as cursor for the next page; null on the last'),
});

// ---------------------------------------------------------------- POST /plan

const name = (what: string) => text().min(1, 'must not be empty').max(256, 'must be at most 256 characters').describe(what);
const digest = z
  .string()
  .regex(/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/, 'must be sha256: + 64 or sha512: + 128 lowercase hex digits')
  .describe('The image digest (looked up at the source when left out)');

export const planBody = z
  .strictObject({
    image: name('An image reference of a configured registry: host/namespace/repository[:tag][@digest]').optional(),
    source: name('A configured source').optional(),
    namespace: name('Namespace').optional(),
    repository: name('Repository below the namespace').optional(),
    tag: name('Tag').optional(),
    digest: digest.optional(),
  })
  .superRefine((b, ctx) => {
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
  })
  .describe('The image to plan for: a configured source and its names, or an image reference');

const errorInfo = z.object({ code: z.string(), message: z.string(), requestId: z.string().nullable() });

const atTarget = z.discriminatedUnion('state', [
  z.object({ state: z.literal('present'), digest: z.string() }),
  z.object({ state: z.literal('different'), digest: z.string() }),
  z.object({ state: z.literal('absent') }),
  z.object({ state: z.literal('unknown'), reason: z.string() }),
  z.object({ state: z.literal('error'), error: errorInfo }),
]);

export const planResponse = z.object({
  image: z.object({ source: z.string(), kind: z.string(), namespace: z.string(), repository: z.string(), tag: z.string().optional(), digest: z.string().optional() }),
  matchedAs: z.string().optional().describe('the source rules see the push as (a registry mirroring another)'),
  digest: z.object({ value: z.string().nullable(), from: z.enum(['given', 'source']).nullable(), error: errorInfo.optional() }).describe('the source digest compared with the targets'),
  rules: z.array(
    z.object({
      rule: z.string(),
      matched: z.boolean(),
      reason: z.string().optional().describe('why the rule does not match'),
      targets: z.array(
        z.object({
          targetIndex: z.number().int(),
          provider: z.string().optional(),
          targetKey: z.string().optional(),
          target: z.record(z.string(), z.unknown()).optional().describe('the rendered target'),
          error: z.object({ field: z.string(), reason: z.string() }).optional().describe('the naming rule the rendered target breaks'),
          atTarget: atTarget.optional().describe('whether the target already holds the image'),
          task: z.object({ id: z.string(), state: z.string() }).optional().describe("the ledger's task for this image and target"),
          action: z.enum(['create', 'skip', 'duplicate', 'reopen', 'refused']).describe('what a push now would do'),
          onDelete: z
            .object({ delete: z.boolean(), copyTaskId: z.string().optional(), reason: z.string().optional() })
            .optional()
            .describe('whether a delete event of this image would delete the tag here (the copy task proving Ferry wrote it, or why not)'),
        }),
      ),
    }),
  ),
  wouldCreate: z.number().int(),
  wouldReopen: z.number().int(),
  deletion: z
    .object({
      targets: z.array(z.object({ rule: z.string(), targetKey: z.string(), copyTaskId: z.string(), tag: z.string(), digest: z.string() })),
      skipped: z.array(z.object({ rule: z.string().nullable(), targetKey: z.string(), copyTaskId: z.string(), reason: z.string() })),
      reason: z.string().optional(),
    })
    .describe("what a delete event of this image would delete (deletion replication, rules with deletes: true): only targets Ferry's ledger proves it copied it to"),
  reason: z.string().optional(),
});
