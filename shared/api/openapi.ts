/** OpenAPI 3.1 document of the operator API, assembled by hand around zod's JSON Schemas. */
import { z } from 'zod';
import {
  cancelResponse,
  cancelTaskBody,
  cloudCancelBody,
  ecsTaskDetailResponse,
  errorResponse,
  healthResponse,
  listTasksQuery,
  replicationResponse,
  taskDetailResponse,
  taskListResponse,
} from './schemas.ts';

type Json = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);

const AUTH_ERRORS = { '401': error('Missing or unknown API token'), '400': error('A request field breaks a rule (the error names it)') };
const CANCEL_ERRORS = {
  ...AUTH_ERRORS,
  '403': error('Read-only token'),
  '404': error('Unknown task (in Ferry or at the cloud)'),
  '409': error('The task already ended; `state` says how'),
  '413': error('Body larger than 64 KiB'),
  '422': error('The cloud cannot cancel this kind of task'),
  '502': error("The cloud refused Ferry's credentials, or failed; `cloud` has its code and request id"),
  '503': { ...error('The cloud is throttling Ferry'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } },
};

export function buildOpenApi(): Json {
  const query = schema(listTasksQuery, 'input') as { properties: Record<string, Json> };
  const parameters = Object.entries(query.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
  }));
  const idParam = (description: string) => ({ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description });
  const security = [{ bearer: [] }];

  return {
    openapi: '3.1.0',
    info: { title: 'Ferry operator API', version: '1', description: 'Tasks, replications and cancellation of Ferry image replication.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token of config auth.apiTokens (role admin for POSTs)' } },
      schemas: {
        CancelTaskBody: schema(cancelTaskBody, 'input'),
        CloudCancelBody: schema(cloudCancelBody(), 'input'),
        CancelResult: schema(cancelResponse, 'output'),
        TaskList: schema(taskListResponse, 'output'),
        TaskDetail: schema(taskDetailResponse, 'output'),
        EcsTaskDetail: schema(ecsTaskDetailResponse, 'output'),
        Replication: schema(replicationResponse, 'output'),
        Health: schema(healthResponse, 'output'),
        Error: schema(errorResponse, 'output'),
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
            '404': error('No such task'),
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
      '/replications/{id}': {
        get: {
          operationId: 'getReplication',
          summary: 'One replication with its tasks',
          security,
          parameters: [idParam('Replication id (UUID)')],
          responses: { '200': json('Replication', 'The replication'), '404': error('No such replication'), ...AUTH_ERRORS },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness and ledger check (no auth)',
          security: [],
          responses: { '200': json('Health', 'Healthy'), '503': json('Health', 'The ledger does not answer') },
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
