/**
 * The operator API, served by the `cancel` function:
 *   GET  /tasks                 list (state, provider, action, namespace, repository, since; cursor paging)
 *   GET  /replications          list (state, namespace, repository, since; cursor paging)
 *   GET  /tasks/{id}            one task with its event history (Ferry UUID, or an ECS task id t-…)
 *   POST /tasks/{id}/cancel     cancel by Ferry task id (or a watched ECS task id)
 *   POST /cancel                cancel by the cloud's own reference
 *   GET  /replications/{id}     one replication with its tasks
 *   POST /tasks/{id}/retry, /replications/{id}/retry, /tasks/retry   re-run finished tasks (rerun.ts)
 *   POST /plan                  what a push would do, creating nothing (plan.ts; a read token suffices)
 *   POST /backfill              one bounded slice of a backfill (call again to continue)
 *   GET  /triggers              which repositories rules match lack a push trigger calling this Ferry
 *   POST /triggers/apply        create those triggers (idempotent)
 *   GET  /metrics               Prometheus text format, from the ledger (metrics.ts; a read token suffices)
 *   GET  /healthz               no auth; the ledger, its schema version and the last sweep's age (stale → 503)
 *   GET  /openapi.json          no auth; this API's OpenAPI 3.1 document
 *   /ui …                       the status page (HTML; signs in with a form and a session cookie: ui/routes.ts)
 * Order of checks: route (404) and method (405, with Allow) → token (`Authorization: Bearer <token>`
 * from config.auth.apiTokens; missing/unknown → 401 with WWW-Authenticate) → role (a read-only token
 * on a POST → 403). The token's name is recorded as the actor.
 */
import { Hono, type Context } from 'hono';
import type { FetchApp } from '../runtime/context.ts';
import type { Deps } from '../replicate/deps.ts';
import { LedgerInputError, type TaskRow } from '../ledger/index.ts';
import * as naming from '../rules/naming.ts';
import { cancelEcsTask } from '../ecs/cancel.ts';
import { providerNamed } from '../providers/registry.ts';
import type { CancelOutcome } from '../providers/types.ts';
import { cancelTask, type CancelTaskResult } from '../replicate/cancel.ts';
import { WWW_AUTHENTICATE } from '../http/auth.ts';
import { TokenChecker } from './auth.ts';
import { clip } from '../log.ts';
import { ApiError, cloudFailure, finished } from './errors.ts';
import { cancelRefusal, cloudErrorOf } from './cancel-refusal.ts';
import { type Env, parse, readJson } from './request.ts';
import { backfillBody, backfillSlice } from './backfill.ts';
import { checkTriggers, IntakeConfigError } from '../intake/triggers.ts';

export { MAX_BODY_BYTES } from './request.ts';
import { buildOpenApi } from './openapi.ts';
import { uiApp } from '../ui/routes.ts';
import { planRoute } from './plan.ts';
import { rerunRoutes } from './rerun.ts';
import { healthOf, metricsRoutes } from './metrics.ts';
import {
  cancelTaskBody,
  cloudCancelBody,
  ECS_REFERENCE,
  ImageFilterError,
  imageFilter,
  listReplicationsQuery,
  listTasksQuery,
  sinceTime,
  uuidParam,
  type CancelResponse,
  type CloudCancelBody,
} from './schemas.ts';

/** Every route and its methods (HEAD with GET): another method on a known path is a 405 before any token check. */
const ROUTES: { path: RegExp; methods: readonly string[] }[] = [
  { path: /^\/tasks$/, methods: ['GET', 'HEAD'] },
  { path: /^\/tasks\/retry$/, methods: ['POST'] },
  { path: /^\/tasks\/[^/]+$/, methods: ['GET', 'HEAD'] },
  { path: /^\/tasks\/[^/]+\/cancel$/, methods: ['POST'] },
  { path: /^\/tasks\/[^/]+\/retry$/, methods: ['POST'] },
  { path: /^\/cancel$/, methods: ['POST'] },
  { path: /^\/replications$/, methods: ['GET', 'HEAD'] },
  { path: /^\/replications\/[^/]+$/, methods: ['GET', 'HEAD'] },
  { path: /^\/replications\/[^/]+\/retry$/, methods: ['POST'] },
  { path: /^\/plan$/, methods: ['POST'] },
  { path: /^\/backfill$/, methods: ['POST'] },
  { path: /^\/triggers$/, methods: ['GET', 'HEAD'] },
  { path: /^\/triggers\/apply$/, methods: ['POST'] },
  { path: /^\/healthz$/, methods: ['GET', 'HEAD'] },
  { path: /^\/metrics$/, methods: ['GET', 'HEAD'] },
  { path: /^\/openapi\.json$/, methods: ['GET', 'HEAD'] },
];

/** POSTs that change nothing: a read token may use them. */
const READ_POSTS = new Set(['/plan']);

export function createApiApp(deps: Deps): FetchApp {
  const tokens = new TokenChecker(deps.config.auth.apiTokens);
  const app = new Hono<Env>();
  let openapi: string | undefined;

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status as 400, err.headers);
    if (err instanceof LedgerInputError) {
      const e = new ApiError(400, 'InvalidRequest', err.message, { field: `query.${err.field}` });
      return c.json(e.body(), 400);
    }
    deps.log.error('api request failed', { path: clip(c.req.path), error: err instanceof Error ? err.message : String(err) });
    const e = new ApiError(500, 'InternalError', 'the request could not be processed');
    return c.json(e.body(), 500);
  });
  app.notFound((c) => c.json(new ApiError(404, 'NotFound', `no route ${clip(c.req.method, 20)} ${clip(c.req.path)}`).body(), 404));

  app.use('*', async (c, next) => {
    const route = ROUTES.find((r) => r.path.test(c.req.path));
    if (route && !route.methods.includes(c.req.method)) return methodNotAllowed(c, route.methods.join(', '));
    await next();
  });

  app.get('/healthz', async (c) => {
    const h = await healthOf(deps);
    return c.json(h, h.ok ? 200 : 503);
  });
  app.get('/openapi.json', (c) => {
    openapi ??= JSON.stringify(buildOpenApi());
    return c.body(openapi, 200, { 'content-type': 'application/json; charset=utf-8' });
  });

  // The status page signs in with a form and a session cookie, not a bearer header (shared/ui/routes.ts).
  app.route('/ui', uiApp(deps));

  app.use('*', async (c, next) => {
    const caller = tokens.check(c.req.header('authorization'));
    if (!caller) {
      throw new ApiError(401, 'Unauthorized', 'a valid API token is required (Authorization: Bearer <token>)', {}, { 'www-authenticate': WWW_AUTHENTICATE });
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !READ_POSTS.has(c.req.path) && caller.role !== 'admin') {
      throw new ApiError(403, 'Forbidden', `token "${caller.name}" is read-only; ${c.req.method} ${clip(c.req.path)} needs an admin token`);
    }
    c.set('caller', caller);
    await next();
  });

  app.get('/tasks', async (c) => {
    const q = parse(listTasksQuery, Object.fromEntries(new URL(c.req.url).searchParams), 'query');
    const page = await deps.ledger.listTasks({
      ...(q.state ? { state: q.state } : {}),
      ...(q.provider ? { provider: q.provider } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...imageOf(q),
      ...(q.since ? { since: sinceTime(q.since, deps.clock.now()) } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
      limit: q.limit ?? 50,
    });
    return c.json(page);
  });

  app.get('/replications', async (c) => {
    const q = parse(listReplicationsQuery, Object.fromEntries(new URL(c.req.url).searchParams), 'query');
    const page = await deps.ledger.listReplications({
      ...(q.state ? { state: q.state } : {}),
      ...imageOf(q),
      ...(q.since ? { since: sinceTime(q.since, deps.clock.now()) } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
      limit: q.limit ?? 50,
    });
    return c.json(page);
  });

  app.get('/tasks/:id', async (c) => {
    const id = c.req.param('id');
    if (!naming.ecsTaskId(id)) return c.json({ ecsTask: await findEcs(deps, id) });
    parse(uuidParam, id, 'path', 'id');
    const detail = await deps.ledger.getTask(id);
    if (!detail) throw new ApiError(404, 'TaskNotFound', `no task ${id}`);
    return c.json(detail);
  });

  app.post('/tasks/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const body = parse(cancelTaskBody, await readJson(c), 'body');
    const actor = c.get('caller').name;
    if (!naming.ecsTaskId(id)) {
      const row = await findEcs(deps, id);
      return ecsAnswer(c, await cancelEcsTask(deps, row.region, row.taskId), `ECS task ${id}`, deps, actor, body.reason);
    }
    parse(uuidParam, id, 'path', 'id');
    const result = await cancelTask(deps, id, { actor, reason: body.reason });
    logCancel(deps, actor, { taskId: id, outcome: result.outcome });
    return taskAnswer(c, result, `task ${id}`);
  });

  app.post('/cancel', async (c) => {
    const body = parse(cloudCancelBody(), await readJson(c), 'body') as CloudCancelBody;
    const actor = c.get('caller').name;
    const { provider, reason, ...ref } = body;
    if (provider === ECS_REFERENCE) {
      const { regionId, taskId } = ref as { regionId: string; taskId: string };
      logCancel(deps, actor, { provider, ref: `${regionId}/${taskId}` });
      return ecsAnswer(c, await cancelEcsTask(deps, regionId, taskId), `ECS task ${taskId}`, deps, actor, reason);
    }
    return cancelReference(c, deps, provider, ref, actor, reason);
  });

  rerunRoutes(app, deps);
  metricsRoutes(app, deps);
  planRoute(app, deps);

  const triggers = async (apply: boolean) => {
    try {
      return await checkTriggers(deps.config, deps.clouds, deps, { apply });
    } catch (err) {
      if (err instanceof IntakeConfigError) throw new ApiError(422, 'NotConfigured', err.message, { field: err.field });
      throw err;
    }
  };
  app.get('/triggers', async (c) => c.json(await triggers(false)));
  app.post('/triggers/apply', async (c) => {
    const report = await triggers(true);
    deps.log.info('triggers applied', { actor: c.get('caller').name, counts: report.counts });
    return c.json(report);
  });

  app.get('/replications/:id', async (c) => {
    const id = c.req.param('id');
    parse(uuidParam, id, 'path', 'id');
    const r = await deps.ledger.getReplication(id);
    if (!r) throw new ApiError(404, 'ReplicationNotFound', `no replication ${id}`);
    return c.json(r);
  });

  app.post('/backfill', async (c) => {
    const body = parse(backfillBody, await readJson(c), 'body');
    return c.json(await backfillSlice(deps, body, c.get('caller').name));
  });

  return async (req, ctx) => app.fetch(req, { ctx });
}

function imageOf(q: { namespace?: string | undefined; repository?: string | undefined }) {
  try {
    return imageFilter(q);
  } catch (err) {
    if (err instanceof ImageFilterError) throw new ApiError(400, 'InvalidRequest', err.message, { field: err.field });
    throw err;
  }
}

function methodNotAllowed(c: Context<Env>, allow: string) {
  return c.json(new ApiError(405, 'MethodNotAllowed', `${clip(c.req.method, 20)} is not allowed on ${clip(c.req.path)}; use ${allow}`).body(), 405, { allow });
}

async function findEcs(deps: Deps, taskId: string) {
  const rows = (await deps.ledger.ecs.list()).filter((r) => r.taskId === taskId);
  if (rows.length === 0) throw new ApiError(404, 'TaskNotFound', `Ferry watches no ECS task ${taskId}; cancel it by reference with POST /cancel {provider:"ecs", regionId, taskId}`);
  if (rows.length > 1) {
    throw new ApiError(409, 'AmbiguousTask', `ECS task ${taskId} is watched in ${rows.length} regions; use POST /cancel with its regionId`);
  }
  return rows[0]!;
}

function okBody(p: {
  provider: CancelResponse['provider'];
  already: boolean;
  cloudCall: boolean;
  task?: TaskRow;
  taskId?: string | null;
  cloud?: CancelOutcome | undefined;
  note?: string | undefined;
}): CancelResponse {
  const cloud = p.cloud;
  return {
    state: 'canceled',
    alreadyCanceled: p.already,
    provider: p.provider,
    taskId: p.task?.id ?? p.taskId ?? null,
    cloudCall: p.cloudCall,
    cloudStatus: (cloud && 'cloudStatus' in cloud ? cloud.cloudStatus : undefined) ?? p.task?.cloudStatus ?? null,
    requestId: (cloud && cloud.outcome === 'canceled' ? cloud.requestId : undefined) ?? null,
    ...(p.note ? { note: p.note } : {}),
    ...(p.task ? { task: p.task } : {}),
  };
}

function taskAnswer(c: Context<Env>, r: CancelTaskResult, what: string) {
  if (r.outcome !== 'canceled') throw cancelRefusal(r, what);
  return c.json(okBody({ provider: r.task.provider, already: r.already, cloudCall: r.cloudCall, task: r.task, cloud: r.cloud, note: r.note }), 200);
}

async function ecsAnswer(c: Context<Env>, r: Awaited<ReturnType<typeof cancelEcsTask>>, what: string, deps: Deps, actor: string, reason: string | undefined) {
  switch (r.outcome) {
    case 'canceled': {
      deps.log.info('ecs task canceled', { actor, what, already: r.already, reason: reason ?? null });
      return c.json(okBody({ provider: 'ecs', already: r.already, cloudCall: r.cloud !== undefined, cloud: r.cloud }), 200);
    }
    case 'finished': {
      const cloud = cloudErrorOf(r.cloud);
      throw finished(what, r.cloud?.outcome === 'finished' ? r.cloud.state : r.state, cloud ? { cloud } : {});
    }
    case 'cloud_error':
      throw cloudFailure(r.cloud, `cancel ${what}`);
  }
}

/**
 * Cancel by the cloud's own reference. A reference that is a Ferry task's current cloud task
 * cancels the task (ledger + cloud) as by id; any other is canceled at the cloud only.
 */
async function cancelReference(c: Context<Env>, deps: Deps, name: string, given: Record<string, unknown>, actor: string, reason: string | undefined) {
  const provider = providerNamed(name);
  const spec = provider?.reference;
  if (!provider || !spec) throw new ApiError(400, 'InvalidRequest', `body.provider: "${name}" has no cloud reference to cancel by`, { field: 'body.provider' });
  logCancel(deps, actor, { provider: name, ref: spec.describe(given) });
  const taskRef = spec.taskRef?.(given) ?? null;
  const known = taskRef ? await deps.ledger.findTaskByCloudRef(taskRef) : null;
  const ref = spec.complete ? spec.complete(given, { sources: deps.config.sources as readonly Record<string, unknown>[], task: known }) : given;
  if ('field' in ref && 'message' in ref && typeof ref.message === 'string') {
    throw new ApiError(400, 'InvalidRequest', `body.${String(ref.field)}: ${ref.message}`, { field: `body.${String(ref.field)}` });
  }
  if (known && known.provider === name && spec.matchesTask?.(ref, known)) {
    return taskAnswer(c, await cancelTask(deps, known.id, { actor, reason }), `task ${known.id} (${taskRef})`);
  }
  const what = spec.describe(ref);
  const cloud = deps.clouds.of(name);
  if (!cloud.cancelReference) throw new ApiError(400, 'InvalidRequest', `body.provider: "${name}" has no cloud reference to cancel by`, { field: 'body.provider' });
  const r = await cloud.cancelReference(ref, deps);
  if (r.outcome === 'canceled') return c.json(okBody({ provider: name, already: r.already, cloudCall: true, cloud: r, taskId: known?.id ?? null, note: r.note }), 200);
  if (r.outcome === 'finished') {
    const e = cloudErrorOf(r);
    throw finished(what, r.state, e ? { cloud: e } : {});
  }
  throw cloudFailure(r, `cancel ${what}`);
}

function logCancel(deps: Deps, actor: string, fields: Record<string, unknown>) {
  deps.log.info('cancel requested', { actor, ...fields });
}
