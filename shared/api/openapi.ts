/**
 * OpenAPI 3.1 document of the operator API and the webhook, assembled by hand around zod's JSON Schemas.
 * The status page (/ui, HTML forms behind a session cookie: shared/ui/routes.ts) is deliberately not in
 * it: it is a page for people, not an API for programs.
 */
import * as z from '../zod.ts';
import { ERROR_STATUS, errorCodeSchema } from '../http/errors.ts';
import { WEBHOOK_KINDS } from '../webhook/normalize.ts';
import { backfillBody, backfillResponse } from './backfill.ts';
import {
  cancelResponse,
  cancelTaskBody,
  cloudCancelBody,
  ecsTaskDetailResponse,
  errorResponse,
  healthResponse,
  listReplicationsQuery,
  listTasksQuery,
  replicationListResponse,
  replicationResponse,
  replicationSchema,
  taskDetailResponse,
  taskListResponse,
  taskSchema,
  triggersResponse,
  webhookResponse,
} from './schemas.ts';
import { bulkRetryBody, bulkRetryResponse, planBody, planResponse, replicationRetryResponse, retryResponse, retryTaskBody } from './schemas-rerun.ts';

type Json = Record<string, unknown>;

function schema(s: z.ZodMiniType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);

/** What the function runtime itself may answer on any route (before or around the app). */
const RUNTIME_ERRORS = {
  '500': error('InternalError: the request could not be processed'),
  '501': error('NotImplemented: a method no route serves (TRACE, TRACK, CONNECT)'),
  '503': error('Unavailable: the function could not start (configuration, ledger); retry later'),
};
const UNAUTHORIZED = { headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="ferry"' } } };
const AUTH_ERRORS = {
  ...RUNTIME_ERRORS,
  '401': { ...error('Unauthorized: missing or unknown API token'), ...UNAUTHORIZED },
  '405': { ...error('MethodNotAllowed: the route has other methods (answered before the token is checked)'), headers: { Allow: { schema: { type: 'string' } } } },
  '400': error('InvalidRequest: a request field breaks a rule (`field` names it)'),
};
const CANCEL_ERRORS = {
  ...AUTH_ERRORS,
  '400': error('InvalidRequest (`field` names the field), InvalidJson or InvalidBody (`field` is `body`)'),
  '403': error('Forbidden: read-only token'),
  '404': error('TaskNotFound (in Ferry) or CloudTaskNotFound (at the cloud)'),
  '409': error('AlreadyFinished: the task already ended, `state` says how; AmbiguousTask: an ECS task watched in several regions'),
  '413': error('PayloadTooLarge: body larger than 64 KiB'),
  '415': error('UnsupportedMediaType: the body is not JSON'),
  '422': error('CancelNotSupported: the cloud cannot cancel this kind of task'),
  '502': error("CloudPermissionDenied (the cloud refused Ferry's credentials) or CloudError; `cloud` has its code and request id"),
  '503': {
    ...error('CloudThrottled: the cloud is throttling Ferry (with Retry-After); or Unavailable: the function could not start'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
  },
};
const RETRY_ERRORS = {
  ...AUTH_ERRORS,
  '400': error('InvalidRequest (`field` names the field), InvalidJson or InvalidBody (`field` is `body`)'),
  '403': error('Forbidden: read-only token'),
  '409': error('NotRetryable: the task is not failed, canceled or timed_out; `state` says what it is'),
  '413': error('PayloadTooLarge: body larger than 64 KiB'),
  '415': error('UnsupportedMediaType: the body is not JSON'),
};
const WEBHOOK_ERRORS = {
  ...RUNTIME_ERRORS,
  '400': error('InvalidBody: not UTF-8, not JSON or not a JSON object, or a CloudEvent without its ce-* headers (`field` names the part)'),
  '401': { ...error('Unauthorized: missing or invalid webhook token, or a token scoped to another source'), ...UNAUTHORIZED },
  '404': error('UnknownKind: no such webhook kind (`field` is `kind`)'),
  '405': error('MethodNotAllowed: use POST'),
  '413': error('PayloadTooLarge: body larger than webhook.maxBodyBytes'),
  '415': error("UnsupportedMediaType: a content type the kind's senders do not use (`field` is `content-type`)"),
  '422': error(
    'InvalidEvent: the event lacks what a push needs, or has a value the ledger cannot store (NUL, a lone surrogate, a time outside the years 100–9999) or a digest that is not sha256:/sha512: hex (`field` names it); ' +
      "UnknownSource: no configured source sent it; InvalidName: the image's namespace, repository or tag breaks the source cloud's naming rules",
  ),
};

/** The Error schema with its `code` as a reference to the one ErrorCode enum. */
function errorSchema(): Json {
  const out = schema(errorResponse, 'output') as { properties: { error: { properties: Record<string, Json> } } };
  out.properties.error.properties.code = ref('ErrorCode');
  return out as unknown as Json;
}

function errorCodeDoc(): Json {
  const listed = Object.entries(ERROR_STATUS)
    .map(([code, status]) => `${code} (${status})`)
    .join(', ');
  return {
    ...schema(errorCodeSchema, 'output'),
    description: `The error vocabulary shared by the webhook, the operator API and the function runtime: ${listed}.`,
  };
}

/** A listing's query schema as OpenAPI query parameters (all optional). */
function queryParameters(q: z.ZodMiniType): Json[] {
  const props = (schema(q, 'input') as { properties: Record<string, Json> }).properties;
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
  }));
}

/** Every subtree of `doc` equal to one of `shared` becomes a `$ref` to that component (the shared schema is written once). */
function useRefs(doc: Json, shared: Record<string, Json>): Json {
  const keys = new Map(Object.entries(shared).map(([name, s]) => [JSON.stringify(s), name]));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const name = keys.get(JSON.stringify(v));
    if (name) return ref(name);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  };
  return walk(doc) as Json;
}

export function buildOpenApi(): Json {
  const parameters = queryParameters(listTasksQuery);
  const shared = { Task: schema(taskSchema, 'output'), ReplicationRecord: schema(replicationSchema, 'output') };
  const idParam = (description: string) => ({ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description });
  const security = [{ bearer: [] }];

  return {
    openapi: '3.1.0',
    info: {
      title: 'Ferry operator API',
      version: '1',
      description:
        'Tasks, replications, cancellation, re-runs and dry runs of Ferry image replication, and the registry webhook. Every error answer, ' +
        'of the webhook, the API and the function runtime alike, is `{"error": {"status", "code", "message", "field"?}}` ' +
        '(schema Error; `code` from ErrorCode); the runtime adds `requestId`, a refused cancel `state`, `taskId` or `cloud`.',
    },
    servers: [
      { url: '/', description: 'where this document is served: the API function (deployed: its HTTP trigger URL)' },
      { url: 'http://127.0.0.1:8080', description: 'npm start (the local stack)' },
    ],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A token of config auth.apiTokens (role admin for POSTs)' },
        webhookBearer: { type: 'http', scheme: 'bearer', description: 'A token of config auth.webhookTokens' },
        webhookQueryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'A token of config auth.webhookTokens, for senders that cannot set headers (ACR triggers)' },
      },
      schemas: {
        ...shared,
        ...useRefs(
          {
            CancelTaskBody: schema(cancelTaskBody, 'input'),
            CloudCancelBody: schema(cloudCancelBody(), 'input'),
            CancelResult: schema(cancelResponse, 'output'),
            TaskList: schema(taskListResponse, 'output'),
            ReplicationList: schema(replicationListResponse, 'output'),
            TaskDetail: schema(taskDetailResponse, 'output'),
            EcsTaskDetail: schema(ecsTaskDetailResponse, 'output'),
            Replication: schema(replicationResponse, 'output'),
            BackfillBody: schema(backfillBody, 'input'),
            BackfillResult: schema(backfillResponse, 'output'),
            Health: schema(healthResponse, 'output'),
            Triggers: schema(triggersResponse, 'output'),
            RetryBody: schema(retryTaskBody, 'input'),
            RetryResult: schema(retryResponse, 'output'),
            ReplicationRetryResult: schema(replicationRetryResponse, 'output'),
            BulkRetryBody: schema(bulkRetryBody, 'input'),
            BulkRetryResult: schema(bulkRetryResponse, 'output'),
            PlanBody: schema(planBody, 'input'),
            Plan: schema(planResponse, 'output'),
            WebhookResult: schema(webhookResponse, 'output'),
          },
          shared,
        ),
        Error: errorSchema(),
        ErrorCode: errorCodeDoc(),
      },
    },
    paths: {
      '/tasks': {
        get: {
          operationId: 'listTasks',
          summary: 'List tasks, newest first',
          security,
          parameters,
          responses: { '200': json('TaskList', 'One page; pass nextCursor back as cursor'), ...AUTH_ERRORS },
        },
      },
      '/tasks/{id}': {
        get: {
          operationId: 'getTask',
          summary: 'One task with its event history',
          security,
          parameters: [idParam('Ferry task id (UUID), or the id of an ECS task Ferry watches (t-…)')],
          responses: {
            '200': {
              description: 'The task',
              content: { 'application/json': { schema: { oneOf: [ref('TaskDetail'), ref('EcsTaskDetail')] } } },
            },
            '404': error('TaskNotFound: no such task'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/tasks/{id}/cancel': {
        post: {
          operationId: 'cancelTask',
          summary: 'Cancel a task by its Ferry id',
          description:
            'Pending tasks are canceled in the ledger without a cloud call. Submitted/running ones are canceled at their cloud ' +
            '(ACR CancelRepoSyncTask, ECS CancelTask, SWR automatic-sync deletion). Repeating the call answers 200 with alreadyCanceled.',
          security,
          parameters: [idParam('Ferry task id (UUID), or the id of an ECS task Ferry watches (t-…)')],
          requestBody: { required: false, content: { 'application/json': { schema: ref('CancelTaskBody') } } },
          responses: { '200': json('CancelResult', 'Canceled (now or before)'), ...CANCEL_ERRORS },
        },
      },
      '/cancel': {
        post: {
          operationId: 'cancelByCloudReference',
          summary: "Cancel by the cloud's own reference (also for tasks Ferry did not create)",
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CloudCancelBody') } } },
          responses: { '200': json('CancelResult', 'Canceled (now or before)'), ...CANCEL_ERRORS },
        },
      },
      '/tasks/{id}/retry': {
        post: {
          operationId: 'retryTask',
          summary: 'Re-run a failed, canceled or timed-out task',
          description:
            'Re-opens the task (pending, due now) with a fresh attempt budget; the sweep submits it. The history keeps every ' +
            'attempt, with who asked and why. Concurrent retries re-open it once: the others answer 200 with alreadyReopened.',
          security,
          parameters: [idParam('Ferry task id (UUID)')],
          requestBody: { required: false, content: { 'application/json': { schema: ref('RetryBody') } } },
          responses: { '200': json('RetryResult', 'Re-opened (now or by an earlier retry)'), '404': error('TaskNotFound: no such task'), ...RETRY_ERRORS },
        },
      },
      '/tasks/retry': {
        post: {
          operationId: 'retryTasks',
          summary: 'Re-run finished tasks matching a filter, one page per call',
          description: 'Each page is re-opened in one transaction; pass nextCursor back for the next. dryRun lists the page and changes nothing.',
          security,
          requestBody: { required: false, content: { 'application/json': { schema: ref('BulkRetryBody') } } },
          responses: { '200': json('BulkRetryResult', 'The page re-opened (or, in a dry run, that would be)'), ...RETRY_ERRORS },
        },
      },
      '/replications/{id}/retry': {
        post: {
          operationId: 'retryReplication',
          summary: 'Re-run every failed, canceled or timed-out task of a replication',
          security,
          parameters: [idParam('Replication id (UUID)')],
          requestBody: { required: false, content: { 'application/json': { schema: ref('RetryBody') } } },
          responses: { '200': json('ReplicationRetryResult', 'Re-opened (now or by an earlier retry)'), '404': error('ReplicationNotFound: no such replication'), ...RETRY_ERRORS },
        },
      },
      '/plan': {
        post: {
          operationId: 'plan',
          summary: 'What a push of this image would do, creating nothing (a read token suffices)',
          description:
            'Which rules match (and why the others do not), each target rendered or the naming rule it breaks, whether the target ' +
            'already holds the image (by digest, where the provider can read the target; cloud errors per target), and the task the ledger has for it.',
          security,
          requestBody: { required: true, content: { 'application/json': { schema: ref('PlanBody') } } },
          responses: {
            '200': json('Plan', 'The plan'),
            ...AUTH_ERRORS,
            '400': error('InvalidRequest: a field breaks a rule, an unknown source, or an image reference no configured registry has (`field` names it)'),
            '413': error('PayloadTooLarge: body larger than 64 KiB'),
            '415': error('UnsupportedMediaType: the body is not JSON'),
          },
        },
      },
      '/backfill': {
        post: {
          operationId: 'backfill',
          summary: 'One bounded slice of a backfill: what rules match that targets lack is recorded as pushes are',
          description:
            "Lists each chosen rule's sources (repositories, then tags), skips targets already holding the tag at the source's digest " +
            "or already in the ledger, and creates the rest (one replication per image, the webhook's idempotency keys). Walks at most " +
            '`maxSeconds`; `done: false` means call again with the same body to continue from the cursor the ledger keeps ' +
            '(a dry run creates nothing and returns its `cursor` instead).',
          security,
          requestBody: { required: false, content: { 'application/json': { schema: ref('BackfillBody') } } },
          responses: {
            '200': json('BackfillResult', 'The slice walked: the summary of the pass so far'),
            ...AUTH_ERRORS,
            '400': error('InvalidRequest (`field` names it: an unknown rule, a repository not namespace/repository, a since that is no date), InvalidJson'),
            '403': error('Forbidden: read-only token'),
            '413': error('PayloadTooLarge: body larger than 64 KiB'),
            '415': error('UnsupportedMediaType: the body is not JSON'),
          },
        },
      },
      '/replications': {
        get: {
          operationId: 'listReplications',
          summary: 'List replications (one per accepted push or delete event), newest received first',
          security,
          parameters: queryParameters(listReplicationsQuery),
          responses: { '200': json('ReplicationList', 'One page; pass nextCursor back as cursor'), ...AUTH_ERRORS },
        },
      },
      '/replications/{id}': {
        get: {
          operationId: 'getReplication',
          summary: 'One replication with its tasks',
          security,
          parameters: [idParam('Replication id (UUID)')],
          responses: { '200': json('Replication', 'The replication'), '404': error('ReplicationNotFound: no such replication'), ...AUTH_ERRORS },
        },
      },
      '/triggers': {
        get: {
          operationId: 'listTriggers',
          summary: 'Repositories some rule matches, and whether each has a push trigger calling this Ferry (ACR repository triggers)',
          security,
          responses: { '200': json('Triggers', 'Every matched repository with its state'), '422': error('NotConfigured: webhook.publicUrl is not set'), ...AUTH_ERRORS },
        },
      },
      '/triggers/apply': {
        post: {
          operationId: 'applyTriggers',
          summary: 'Create the missing triggers (CreateRepoTrigger); running it again creates nothing',
          description: 'A trigger that calls this Ferry with another token is reported as token_differs, never duplicated. Trigger URLs are answered with the token elided.',
          security,
          responses: { '200': json('Triggers', 'Every matched repository with its state after the run'), '422': error('NotConfigured: webhook.publicUrl is not set'), ...AUTH_ERRORS },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness: the ledger answers, its schema version, the age of the last completed sweep (no auth)',
          security: [],
          responses: {
            '200': json('Health', 'Healthy'),
            '503': json('Health', 'The ledger does not answer, or the last sweep completed longer ago than sweep.staleAfterSeconds'),
            '500': RUNTIME_ERRORS['500'],
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format 0.0.4), computed from the ledger (a read token suffices)',
          description:
            'ferry_tasks{state,provider,rule}, ferry_replication_lag_seconds (histogram), ferry_oldest_open_task_age_seconds, ' +
            'ferry_task_failures_total{code}, ferry_sweep_last_duration_seconds, ferry_sweep_last_cloud_calls, ferry_sweep_last_leftover, ' +
            'ferry_sweep_last_completed_timestamp_seconds, ferry_webhook_deliveries_total{kind,outcome}, ferry_drift_found_total, ferry_drift_repaired_total.',
          security,
          responses: {
            '200': { description: 'The metrics', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } },
            ...AUTH_ERRORS,
          },
        },
      },
      '/webhooks/{kind}': {
        post: {
          operationId: 'deliverWebhook',
          summary: 'A registry push notification: matching rules become replication tasks',
          description:
            'Checks, in order: route (404/405), token (401, before the body is read), size (413), content type, JSON and event ' +
            '(415/400/422), source and token scope (422/401). Accepted pushes are recorded and submitted within the submit budget; ' +
            'per-target failures are reported inside the 2xx answer (`targets[].error`), not as HTTP errors.',
          security: [{ webhookBearer: [] }, { webhookQueryToken: [] }],
          parameters: [
            { name: 'kind', in: 'path', required: true, schema: { type: 'string', enum: [...WEBHOOK_KINDS] }, description: 'The sender format' },
            { name: 'instance', in: 'query', required: false, schema: { type: 'string' }, description: 'ACR instance id (cri-…) the trigger belongs to' },
            { name: 'source', in: 'query', required: false, schema: { type: 'string' }, description: 'Name of the configured source that sends this' },
          ],
          requestBody: {
            required: true,
            description: "The sender's JSON payload (application/json; CloudEvents also as application/cloudevents+json; distribution events as their own media types)",
            content: { 'application/json': { schema: { type: 'object' } }, 'application/cloudevents+json': { schema: { type: 'object' } } },
          },
          responses: {
            '200': json('WebhookResult', 'Nothing to replicate: no push in the event, no rule matched (`reason`), or only events that are not pushes (`ignored`)'),
            '202': json('WebhookResult', 'Accepted: tasks created (`created`) or already known (`duplicates`)'),
            ...WEBHOOK_ERRORS,
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document (no auth)',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
  };
}
