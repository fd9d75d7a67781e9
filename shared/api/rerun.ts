/**
 * Re-running finished tasks over the API:
 *   POST /tasks/{id}/retry          one task
 *   POST /replications/{id}/retry   every failed, canceled or timed-out task of one replication
 *   POST /tasks/retry               finished tasks matching a filter, one page per call
 * A re-opened task is pending and due: the sweep submits it on its next run, through the same
 * idempotent path as any task (a cloud task it already has is found before another is made).
 */
import type { Hono } from 'hono';
import type { TaskRow } from '../ledger/index.ts';
import type { Deps } from '../replicate/deps.ts';
import { ApiError } from './errors.ts';
import { type Env, parse, readJson } from './request.ts';
import { uuidParam } from './schemas.ts';
import { bulkRetryBody, retryTaskBody, sinceTime, statesOf } from './schemas-rerun.ts';

const DEFAULT_PAGE = 100;

function notRetryable(what: string, state: string, taskId?: string): ApiError {
  const why = state === 'succeeded' ? 'it succeeded' : `it is ${state}, not finished`;
  return new ApiError(409, 'NotRetryable', `${what} cannot be retried: ${why} (only failed, canceled and timed_out tasks are re-run)`, { state, ...(taskId ? { taskId } : {}) });
}

function logRerun(deps: Deps, actor: string, fields: Record<string, unknown>): void {
  deps.log.info('retry requested', { actor, ...fields });
}

export function rerunRoutes(app: Hono<Env>, deps: Deps): void {
  app.post('/tasks/retry', async (c) => {
    const body = parse(bulkRetryBody, await readJson(c), 'body');
    const actor = c.get('caller').name;
    if (body.rule !== undefined && !deps.config.rules.some((r) => r.name === body.rule)) {
      const names = deps.config.rules.map((r) => r.name).join(', ') || 'none';
      throw new ApiError(400, 'InvalidRequest', `body.rule: no rule "${body.rule}" is configured (rules: ${names}); retry a task of a removed rule by its id`, { field: 'body.rule' });
    }
    const page = await deps.ledger.rerunMany(
      {
        states: statesOf(body.state),
        rule: body.rule,
        since: body.since === undefined ? undefined : sinceTime(body.since, deps.clock.now()),
        limit: body.limit ?? DEFAULT_PAGE,
        cursor: body.cursor ?? null,
        dryRun: body.dryRun === true,
      },
      { actor, reason: body.reason ?? 'retried by operator (bulk)' },
    );
    const dryRun = body.dryRun === true;
    logRerun(deps, actor, { bulk: true, dryRun, matched: page.items.length, rule: body.rule ?? null });
    return c.json({
      dryRun,
      matched: page.items.length,
      reopened: dryRun ? 0 : page.items.length,
      tasks: page.items.map(({ before: t }) => ({
        taskId: t.id,
        rule: t.rule,
        targetKey: t.targetKey,
        previousState: t.state,
        finishedAt: t.finishedAt,
        lastError: t.lastError ? `${t.lastError.code}: ${t.lastError.message}` : null,
      })),
      nextCursor: page.nextCursor,
    });
  });

  app.post('/tasks/:id/retry', async (c) => {
    const id = c.req.param('id');
    parse(uuidParam, id, 'path', 'id');
    const body = parse(retryTaskBody, await readJson(c), 'body');
    return c.json(await retryTask(deps, id, c.get('caller').name, body.reason));
  });

  app.post('/replications/:id/retry', async (c) => {
    const id = c.req.param('id');
    parse(uuidParam, id, 'path', 'id');
    const body = parse(retryTaskBody, await readJson(c), 'body');
    return c.json(await retryReplication(deps, id, c.get('caller').name, body.reason));
  });
}

/** Re-opens one finished task (the API and the status page): its answer, or an ApiError (404, 409 NotRetryable). */
export async function retryTask(deps: Deps, id: string, actor: string, reason: string | undefined) {
  const r = await deps.ledger.rerunTask(id, { actor, reason: reason ?? 'retried by operator' });
  if (!r) throw new ApiError(404, 'TaskNotFound', `no task ${id}`);
  logRerun(deps, actor, { taskId: id, outcome: r.outcome, state: r.task.state });
  if (r.outcome === 'refused') throw notRetryable(`task ${id}`, r.task.state, id);
  const previousState = r.outcome === 'reopened' ? r.from : r.task.state;
  return { taskId: id, reopened: r.outcome === 'reopened', alreadyReopened: r.outcome === 'already', previousState, task: r.task };
}

/** Re-opens every failed, canceled or timed-out task of one replication (the API and the status page). */
export async function retryReplication(deps: Deps, id: string, actor: string, reason: string | undefined) {
  const rep = await deps.ledger.getReplication(id);
  if (!rep) throw new ApiError(404, 'ReplicationNotFound', `no replication ${id}`);
  const reopened = await deps.ledger.rerunIds(
    rep.tasks.map((t) => t.id),
    { actor, reason: reason ?? 'retried by operator (replication)', details: { replicationId: id } },
  );
  const byId = new Map(reopened.map((t) => [t.id, t]));
  // Read again: a concurrent retry may have re-opened what this one found finished.
  const now = (await deps.ledger.getReplication(id))?.tasks ?? [];
  const already = (t: TaskRow) => !byId.has(t.id) && t.reruns > 0 && (t.state === 'pending' || t.state === 'submitted' || t.state === 'running');
  const alreadyReopened = now.filter(already).length;
  logRerun(deps, actor, { replicationId: id, reopened: reopened.length, alreadyReopened });
  if (reopened.length === 0 && alreadyReopened === 0) throw notRetryable(`replication ${id}`, rep.replication.state);
  return {
    replicationId: id,
    reopened: reopened.length,
    alreadyReopened,
    tasks: rep.tasks.map((t) => ({ taskId: t.id, previousState: t.state, state: byId.get(t.id)?.state ?? t.state, reopened: byId.has(t.id) })),
  };
}
