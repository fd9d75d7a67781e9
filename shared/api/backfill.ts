/**
 * `POST /backfill`: one bounded slice of a backfill within the request's time (nothing runs after the
 * answer). `done: false` means call again with the same body (a dry run: with `cursor` from the answer)
 * to continue; the ledger keeps where a real run got to, so concurrent or repeated calls never duplicate.
 */
import * as z from '../zod.ts';
import { readToken } from '../backfill/cursors.ts';
import { checkBackfill } from '../backfill/request.ts';
import { type BackfillResult, runBackfill } from '../backfill/run.ts';
import type { Deps } from '../replicate/deps.ts';
import { ApiError } from './errors.ts';

export const backfillBody = z.strictObject({
  rule: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(63))).check(z.describe('One rule (default: every rule)')),
  repository: z.optional(z.string().check(z.minLength(3)).check(z.maxLength(512))).check(z.describe('Only this repository, namespace/repository')),
  since: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(64))).check(z.describe('Only tags pushed since: an ISO date or time, or a duration ago (30m, 2h, 7d)')),
  dryRun: z.optional(z.boolean()).check(z.describe('Create nothing; report what would be created')),
  cursor: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(65_536))).check(z.describe("A dry run's cursor from the previous answer")),
  maxSeconds: z.optional(z.int().check(z.gte(1)).check(z.lte(25))).check(z.describe('Time this call may walk (default 20)')),
});

const counts = z.object({
  repositories: z.number(),
  found: z.number(),
  targets: z.number(),
  alreadyThere: z.number(),
  inLedger: z.number(),
  reopened: z.number().check(z.describe('finished tasks re-opened: the target lost the image or holds another')),
  created: z.number(),
  refused: z.number(),
  unchecked: z.number(),
  errors: z.number(),
  reasons: z.record(z.string(), z.number()),
  examples: z.array(z.object({ image: z.string(), rule: z.string(), field: z.optional(z.string()), reason: z.string() })),
});

export const backfillResponse = z.object({
  runId: z.string(),
  dryRun: z.boolean(),
  done: z.boolean().check(z.describe('false: call again with the same body (and `cursor` for a dry run) to continue')),
  summary: counts,
  walks: z.array(
    z.object({
      rule: z.string(),
      source: z.string(),
      status: z.enum(['done', 'partial', 'finished', 'busy', 'error']),
      counts: z.optional(counts),
      error: z.optional(z.object({ code: z.string(), message: z.string() })),
    }),
  ),
  skipped: z.array(z.object({ rule: z.string(), source: z.string(), reason: z.string() })),
  cursor: z.optional(z.string()),
});

export async function backfillSlice(deps: Deps, body: z.output<typeof backfillBody>, actor: string): Promise<BackfillResult> {
  const checked = checkBackfill(body, deps.config, deps.clock.now());
  if (!checked.ok) throw new ApiError(400, 'InvalidRequest', `body.${checked.field}: ${checked.message}`, { field: `body.${checked.field}` });
  if (body.cursor !== undefined && !checked.plan.dryRun)
    throw new ApiError(400, 'InvalidRequest', 'body.cursor: only a dry run takes a cursor (a real run keeps its own in the ledger)', { field: 'body.cursor' });
  const from = body.cursor !== undefined ? readToken(body.cursor) : undefined;
  if (from === null) throw new ApiError(400, 'InvalidRequest', 'body.cursor: not a cursor a dry run of this API returned', { field: 'body.cursor' });
  const until = Date.now() + (body.maxSeconds ?? 20) * 1000;
  deps.log.info('backfill requested', { actor, runId: checked.plan.runId, dryRun: checked.plan.dryRun });
  return runBackfill(deps, checked.plan, { owner: `${deps.workerId}:api`, hasTime: () => Date.now() < until, dryRunFrom: from });
}
