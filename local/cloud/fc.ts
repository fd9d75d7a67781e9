import { z } from 'zod';
import { fcSignature, fcStringToSign, parseFcAuthorization, signaturesEqual } from './fc-signature.ts';
import type { LocalService } from './local-service.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from './types.ts';

/**
 * Function Compute 2.0 control plane (API version 2016-08-15), enough for `@alicloud/fc2`:
 * service get/update (role, vpcConfig, internetAccess), function get/update (environment
 * variables), triggers, per-function async invocation config and invocations. Services and functions come
 * from the seed and belong to `seed.fc.accountId`; callers sign with an Alibaba account key of
 * the seed whose accountId is that account. Errors: `{ErrorCode, ErrorMessage}` + `x-fc-request-id`.
 */
export interface FcInvocation {
  requestId: string;
  service: string;
  qualifier: string;
  function: string;
  type: 'Sync' | 'Async';
  payload: string;
  headers: Record<string, string>;
  /** Virtual time of arrival. */
  at: number;
}

export interface FcInvokeResult {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON, strings/Buffers as they are. */
  body?: unknown;
}

/** Answers a synchronous invocation; throwing makes FC report an unhandled function error. */
export type FcResponder = (inv: FcInvocation) => FcInvokeResult | Promise<FcInvokeResult>;

export interface FcTrigger {
  triggerId: string;
  triggerName: string;
  triggerType: string;
  triggerConfig: unknown;
  sourceArn: string | null;
  invocationRole: string | null;
  qualifier: string | null;
  description: string;
  createdTime: string;
  lastModifiedTime: string;
}

export interface FcService extends LocalService {
  readonly name: 'fc';
  /** Sets what a sync invocation of `service/function` returns (default: 200, empty body). */
  setInvokeResponder(service: string, fn: string, responder: FcResponder | null): void;
  /** Recorded invocations, oldest first. */
  invocations(filter?: { service?: string; function?: string }): FcInvocation[];
  trigger(service: string, fn: string, name: string): FcTrigger | undefined;
  asyncConfig(service: string, fn: string, qualifier?: string): Record<string, unknown> | undefined;
  /** The service as GetService answers it. */
  service(name: string): FcServiceInfo | undefined;
  /** A function's environment variables as last put. */
  environment(service: string, fn: string): Record<string, string> | undefined;
  /** Handles `/_local/fc/*` admin routes; null when the path is not one of them. */
  admin(req: CloudRequest): Promise<CloudResponse | null>;
  /** Alibaba account id owning the access key in the Authorization header. */
  caller(req: CloudRequest): string | undefined;
  /** `{ErrorCode, ErrorMessage}` with `x-fc-request-id`. */
  errorResponse(req: CloudRequest, status: number, code: string, message?: string): CloudResponse;
}

export interface FcVpcConfig {
  vpcId: string;
  vSwitchIds: string[];
  securityGroupId: string;
}

export interface FcServiceInfo {
  serviceName: string;
  serviceId: string;
  description: string;
  role: string;
  internetAccess: boolean;
  /** Empty strings and no vSwitch when the service has no VPC access, as FC answers. */
  vpcConfig: FcVpcConfig;
  createdTime: string;
  lastModifiedTime: string;
}

const PREFIX = '/2016-08-15';
const SERVICE_ROUTE = /^\/2016-08-15\/services\/([^/]+)\/?$/;
const FUNCTION_ROUTE = /^\/2016-08-15\/services\/([^/]+)\/functions\/([^/]+)\/?$/;
// Function Compute's documented limits on environment variables: keys start with a letter and
// hold letters, digits and "_"; FC_* is reserved; all of them together at most 4 KB.
const ENV_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
const ENV_MAX_BYTES = 4 * 1024;
const ROUTE = /^\/2016-08-15\/services\/([^/]+)\/functions\/([^/]+)\/(triggers|invocations|async-invoke-config|async-invoke-configs)(?:\/([^/]+))?\/?$/;
const DATE_TOLERANCE_MS = 15 * 60 * 1000;
const TRIGGER_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]{0,127}$/;

class FcError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

interface FunctionState {
  functionId: string;
  environmentVariables: Record<string, string>;
  createdTime: string;
  lastModifiedTime: string;
  triggers: Map<string, FcTrigger>;
  asyncConfigs: Map<string, Record<string, unknown>>;
  responder: FcResponder | null;
}

const timerConfig = z.object({
  cronExpression: z.string().refine((v) => /^@every \d+[smh]$/.test(v) || v.trim().split(/\s+/).length === 6, 'must be a 6-field cron expression (with seconds) or "@every <n>m"'),
  enable: z.boolean(),
  payload: z.string().optional(),
});

const createTriggerBody = z.object({
  triggerName: z.string().regex(TRIGGER_NAME, 'must start with a letter or "_" and hold 1 to 128 letters, digits, "_" and "-"'),
  triggerType: z.string().min(1),
  triggerConfig: z.unknown().optional(),
  sourceArn: z.string().optional(),
  invocationRole: z.string().optional(),
  qualifier: z.string().optional(),
  description: z.string().optional(),
});

const updateTriggerBody = z.object({
  triggerConfig: z.unknown().optional(),
  invocationRole: z.string().optional(),
  qualifier: z.string().optional(),
  description: z.string().optional(),
});

const vpcConfigBody = z.object({
  vpcId: z.string(),
  vSwitchIds: z.array(z.string()),
  securityGroupId: z.string(),
  role: z.string().optional(),
});

const updateServiceBody = z.object({
  description: z.string().optional(),
  role: z.string().optional(),
  internetAccess: z.boolean().optional(),
  vpcConfig: vpcConfigBody.optional(),
  logConfig: z.unknown().optional(),
});

// Other function fields (handler, memory…) are accepted and not modelled.
const updateFunctionBody = z.looseObject({
  environmentVariables: z.record(z.string(), z.string()).optional(),
});

const asyncConfigBody = z.object({
  maxAsyncEventAgeInSeconds: z.number().int().min(1).max(604800).optional(),
  maxAsyncRetryAttempts: z.number().int().min(0).max(8).optional(),
  destinationConfig: z
    .object({
      onSuccess: z.object({ destination: z.string() }).optional(),
      onFailure: z.object({ destination: z.string() }).optional(),
    })
    .optional(),
  statefulInvocation: z.boolean().optional(),
});

function fcTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function createFcService(env: LocalCloudEnv): FcService {
  let functions = new Map<string, Map<string, FunctionState>>();
  let services = new Map<string, FcServiceInfo>();
  let invocations: FcInvocation[] = [];
  let triggerCounter = 0;

  function reset(): void {
    functions = new Map();
    services = new Map();
    invocations = [];
    triggerCounter = 0;
    const now = fcTime(env.clock.now());
    let n = 0;
    for (const svc of env.seed.fc.services) {
      const fns = new Map<string, FunctionState>();
      for (const fn of svc.functions) {
        fns.set(fn, {
          functionId: `fn-${String(++n).padStart(8, '0')}`,
          environmentVariables: {},
          createdTime: now,
          lastModifiedTime: now,
          triggers: new Map(),
          asyncConfigs: new Map(),
          responder: null,
        });
      }
      functions.set(svc.name, fns);
      services.set(svc.name, {
        serviceName: svc.name,
        serviceId: `svc-${String(services.size + 1).padStart(8, '0')}`,
        description: '',
        role: svc.role ?? '',
        internetAccess: true,
        vpcConfig: { vpcId: '', vSwitchIds: [], securityGroupId: '' },
        createdTime: now,
        lastModifiedTime: now,
      });
    }
  }
  reset();

  function newRequestId(): string {
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(env.random() * 16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  }

  function errorResponse(status: number, code: string, message: string, requestId: string, extra: Record<string, string> = {}): CloudResponse {
    return { status, headers: { 'x-fc-request-id': requestId, 'content-type': 'application/json', ...extra }, body: { ErrorCode: code, ErrorMessage: message } };
  }

  function json(status: number, body: unknown, requestId: string): CloudResponse {
    return { status, headers: { 'x-fc-request-id': requestId, 'content-type': 'application/json' }, body };
  }

  function authenticate(req: CloudRequest): void {
    const date = req.headers['date'];
    if (!date) throw new FcError(400, 'MissingRequiredHeader', 'header "date" is required');
    const header = req.headers['authorization'];
    if (!header) throw new FcError(400, 'MissingRequiredHeader', 'header "authorization" is required');
    const auth = parseFcAuthorization(header);
    if (!auth) throw new FcError(403, 'InvalidAccessKeyID', 'authorization must be "FC <accessKeyID>:<signature>"');
    const t = Date.parse(date);
    // Official SDKs stamp the wall clock, Ferry may stamp the virtual one: accept either.
    if (Number.isNaN(t) || (Math.abs(t - req.now) > DATE_TOLERANCE_MS && Math.abs(t - Date.now()) > DATE_TOLERANCE_MS)) {
      throw new FcError(403, 'RequestTimeTooSkewed', `the difference between the request time "${date}" and the server time is more than 15 minutes`);
    }
    const account = env.seed.alibaba.accounts.find((a) => a.accessKeyId === auth.accessKeyId);
    if (!account) throw new FcError(403, 'InvalidAccessKeyID', `access key id ${auth.accessKeyId} does not exist`);
    let path = req.path;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      /* sign the raw path */
    }
    let queries: Record<string, string | string[]> | null = null;
    if (path.startsWith(`${PREFIX}/proxy/`)) {
      queries = {};
      for (const key of new Set(req.query.keys())) {
        const all = req.query.getAll(key);
        queries[key] = all.length === 1 ? all[0]! : all;
      }
    }
    const expected = fcSignature(fcStringToSign(req.method, path, req.headers, queries), account.accessKeySecret);
    if (!signaturesEqual(expected, auth.signature)) {
      throw new FcError(403, 'SignatureNotMatch', 'the request signature we calculated does not match the signature you provided; check your access key secret and signing method');
    }
    const target = env.seed.fc.accountId;
    if (account.accountId !== target || (req.headers['x-fc-account-id'] && req.headers['x-fc-account-id'] !== target)) {
      throw new FcError(403, 'AccessDenied', `the caller is not authorized to access account ${req.headers['x-fc-account-id'] ?? target}`);
    }
  }

  function splitService(seg: string): { service: string; qualifier: string | null } {
    const decoded = decodeURIComponent(seg);
    const dot = decoded.indexOf('.');
    return dot < 0 ? { service: decoded, qualifier: null } : { service: decoded.slice(0, dot), qualifier: decoded.slice(dot + 1) };
  }

  function findFunction(service: string, fn: string): FunctionState {
    const fns = functions.get(service);
    if (!fns) throw new FcError(404, 'ServiceNotFound', `service '${service}' does not exist`);
    const state = fns.get(fn);
    if (!state) throw new FcError(404, 'FunctionNotFound', `function '${fn}' does not exist in service '${service}'`);
    return state;
  }

  function parseJson<T>(req: CloudRequest, schema: z.ZodType<T>): T {
    let raw: unknown;
    try {
      const text = req.body.toString('utf8');
      raw = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new FcError(400, 'InvalidArgument', 'the request body is not valid JSON');
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FcError(400, 'InvalidArgument', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    return parsed.data;
  }

  function checkTriggerConfig(type: string, config: unknown): unknown {
    if (type !== 'timer') return config ?? {};
    const parsed = timerConfig.safeParse(config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FcError(400, 'InvalidArgument', `triggerConfig.${issue.path.join('.')}: ${issue.message}`);
    }
    return { payload: '', ...parsed.data };
  }

  async function invoke(req: CloudRequest, service: string, qualifier: string | null, fn: string, state: FunctionState, requestId: string): Promise<CloudResponse> {
    const type = (req.headers['x-fc-invocation-type'] ?? 'Sync').toLowerCase() === 'async' ? 'Async' : 'Sync';
    const statefulId = req.headers['x-fc-stateful-async-invocation-id'];
    if (type === 'Async' && statefulId && invocations.some((i) => i.headers['x-fc-stateful-async-invocation-id'] === statefulId)) {
      throw new FcError(409, 'StatefulAsyncInvocationAlreadyExists', `stateful async invocation ${statefulId} already exists`);
    }
    const inv: FcInvocation = {
      requestId,
      service,
      qualifier: qualifier ?? 'LATEST',
      function: fn,
      type,
      payload: req.body.toString('utf8'),
      headers: { ...req.headers },
      at: req.now,
    };
    invocations.push(inv);
    if (type === 'Async') return { status: 202, headers: { 'x-fc-request-id': requestId }, body: '' };
    try {
      const result = state.responder ? await state.responder(inv) : {};
      const body = result.body ?? '';
      const headers: Record<string, string> = { 'x-fc-request-id': requestId, ...result.headers };
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = typeof body === 'string' || Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json';
      }
      return { status: result.status ?? 200, headers, body };
    } catch (e) {
      return {
        status: 200,
        headers: { 'x-fc-request-id': requestId, 'x-fc-error-type': 'UnhandledInvocationError', 'content-type': 'application/json' },
        body: { errorMessage: (e as Error).message ?? String(e), errorType: (e as Error).name ?? 'Error', stackTrace: [] },
      };
    }
  }

  function updateService(req: CloudRequest, info: FcServiceInfo): FcServiceInfo {
    const body = parseJson(req, updateServiceBody);
    const role = body.role ?? info.role;
    if (body.vpcConfig) {
      const { vpcId, vSwitchIds, securityGroupId } = body.vpcConfig;
      const attaching = vpcId !== '';
      if (attaching && vSwitchIds.length === 0) throw new FcError(400, 'InvalidArgument', 'vpcConfig.vSwitchIds: at least one vSwitch is required');
      if (attaching && securityGroupId === '') throw new FcError(400, 'InvalidArgument', 'vpcConfig.securityGroupId is required');
      if (!attaching && (vSwitchIds.length || securityGroupId)) throw new FcError(400, 'InvalidArgument', 'vpcConfig.vpcId is required with vSwitchIds or securityGroupId');
      // FC attaches the functions' network interface as the service role: no role, no VPC.
      if (attaching && !role) throw new FcError(400, 'InvalidArgument', 'a service role is required to configure VPC access');
      info.vpcConfig = { vpcId, vSwitchIds: [...vSwitchIds], securityGroupId };
    }
    info.role = role;
    if (body.description !== undefined) info.description = body.description;
    if (body.internetAccess !== undefined) info.internetAccess = body.internetAccess;
    info.lastModifiedTime = fcTime(req.now);
    return info;
  }

  function functionInfo(service: string, fn: string, state: FunctionState): Record<string, unknown> {
    return {
      functionName: fn,
      functionId: state.functionId,
      environmentVariables: { ...state.environmentVariables },
      createdTime: state.createdTime,
      lastModifiedTime: state.lastModifiedTime,
      service,
    };
  }

  function updateFunction(req: CloudRequest, state: FunctionState): void {
    const body = parseJson(req, updateFunctionBody);
    const vars = body.environmentVariables;
    if (vars !== undefined) {
      for (const key of Object.keys(vars)) {
        if (!ENV_KEY.test(key)) throw new FcError(400, 'InvalidArgument', `environmentVariables: key "${key}" must start with a letter and hold only letters, digits and "_"`);
        if (key.startsWith('FC_')) throw new FcError(400, 'InvalidArgument', `environmentVariables: key "${key}" uses the reserved prefix FC_`);
      }
      const bytes = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      if (bytes > ENV_MAX_BYTES) throw new FcError(400, 'InvalidArgument', `environmentVariables: ${bytes} bytes exceed the ${ENV_MAX_BYTES}-byte limit`);
      state.environmentVariables = { ...vars };
    }
    state.lastModifiedTime = fcTime(req.now);
  }

  function routeResource(req: CloudRequest, requestId: string): CloudResponse | null {
    const sm = SERVICE_ROUTE.exec(req.path);
    if (sm) {
      const { service } = splitService(sm[1]!);
      const info = services.get(service);
      if (!info) throw new FcError(404, 'ServiceNotFound', `service '${service}' does not exist`);
      if (req.method === 'GET') return json(200, info, requestId);
      if (req.method === 'PUT') return json(200, updateService(req, info), requestId);
      throw new FcError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${req.path}`);
    }
    const fm = FUNCTION_ROUTE.exec(req.path);
    if (!fm) return null;
    const { service } = splitService(fm[1]!);
    const fn = decodeURIComponent(fm[2]!);
    const state = findFunction(service, fn);
    if (req.method === 'GET') return json(200, functionInfo(service, fn, state), requestId);
    if (req.method === 'PUT') {
      updateFunction(req, state);
      return json(200, functionInfo(service, fn, state), requestId);
    }
    throw new FcError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${req.path}`);
  }

  async function route(req: CloudRequest, requestId: string): Promise<CloudResponse> {
    const resource = routeResource(req, requestId);
    if (resource) return resource;
    const m = ROUTE.exec(req.path);
    if (!m) throw new FcError(404, 'PathNotSupported', `${req.method} ${req.path} is not supported`);
    const [, svcSeg, fnSeg, kind, sub] = m as unknown as [string, string, string, string, string | undefined];
    const { service, qualifier } = splitService(svcSeg);
    const fn = decodeURIComponent(fnSeg);
    const state = findFunction(service, fn);

    if (kind === 'invocations' && !sub && req.method === 'POST') return invoke(req, service, qualifier, fn, state, requestId);

    if (kind === 'triggers' && !qualifier) {
      if (!sub && req.method === 'POST') {
        const body = parseJson(req, createTriggerBody);
        if (state.triggers.has(body.triggerName)) {
          throw new FcError(409, 'TriggerAlreadyExists', `trigger '${body.triggerName}' already exists in service '${service}' function '${fn}'`);
        }
        const now = fcTime(req.now);
        const trigger: FcTrigger = {
          triggerId: `${++triggerCounter}`.padStart(8, '0') + '-fc-trigger',
          triggerName: body.triggerName,
          triggerType: body.triggerType,
          triggerConfig: checkTriggerConfig(body.triggerType, body.triggerConfig),
          sourceArn: body.sourceArn ?? null,
          invocationRole: body.invocationRole ?? null,
          qualifier: body.qualifier ?? null,
          description: body.description ?? '',
          createdTime: now,
          lastModifiedTime: now,
        };
        state.triggers.set(trigger.triggerName, trigger);
        return json(200, trigger, requestId);
      }
      if (!sub && req.method === 'GET') {
        const prefix = req.query.get('prefix') ?? '';
        const startKey = req.query.get('nextToken') || req.query.get('startKey') || '';
        const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 20) || 20, 1), 100);
        const names = [...state.triggers.keys()].filter((n) => n.startsWith(prefix) && n >= startKey).sort();
        const page = names.slice(0, limit).map((n) => state.triggers.get(n)!);
        const body: Record<string, unknown> = { triggers: page };
        if (names.length > limit) body.nextToken = names[limit];
        return json(200, body, requestId);
      }
      if (sub) {
        const name = decodeURIComponent(sub);
        const trigger = state.triggers.get(name);
        if (!trigger) throw new FcError(404, 'TriggerNotFound', `trigger '${name}' does not exist in service '${service}' function '${fn}'`);
        if (req.method === 'GET') return json(200, trigger, requestId);
        if (req.method === 'PUT') {
          const body = parseJson(req, updateTriggerBody);
          if (body.triggerConfig !== undefined) trigger.triggerConfig = checkTriggerConfig(trigger.triggerType, body.triggerConfig);
          if (body.invocationRole !== undefined) trigger.invocationRole = body.invocationRole;
          if (body.qualifier !== undefined) trigger.qualifier = body.qualifier;
          if (body.description !== undefined) trigger.description = body.description;
          trigger.lastModifiedTime = fcTime(req.now);
          return json(200, trigger, requestId);
        }
        if (req.method === 'DELETE') {
          state.triggers.delete(name);
          return { status: 204, headers: { 'x-fc-request-id': requestId } };
        }
      }
    }

    if (kind === 'async-invoke-config' && !sub) {
      const q = qualifier ?? 'LATEST';
      if (req.method === 'PUT') {
        const body = parseJson(req, asyncConfigBody);
        const previous = state.asyncConfigs.get(q);
        const config: Record<string, unknown> = {
          service,
          function: fn,
          qualifier: q,
          createdTime: (previous?.createdTime as string | undefined) ?? fcTime(req.now),
          lastModifiedTime: fcTime(req.now),
          maxAsyncEventAgeInSeconds: body.maxAsyncEventAgeInSeconds ?? null,
          maxAsyncRetryAttempts: body.maxAsyncRetryAttempts ?? null,
          destinationConfig: body.destinationConfig ?? null,
          statefulInvocation: body.statefulInvocation ?? false,
        };
        state.asyncConfigs.set(q, config);
        return json(200, config, requestId);
      }
      const config = state.asyncConfigs.get(q);
      if (!config) throw new FcError(404, 'AsyncConfigNotExists', `async invoke config of function '${fn}' (qualifier ${q}) in service '${service}' does not exist`);
      if (req.method === 'GET') return json(200, config, requestId);
      if (req.method === 'DELETE') {
        state.asyncConfigs.delete(q);
        return { status: 204, headers: { 'x-fc-request-id': requestId } };
      }
    }

    if (kind === 'async-invoke-configs' && !sub && !qualifier && req.method === 'GET') {
      return json(200, { configs: [...state.asyncConfigs.values()] }, requestId);
    }
    throw new FcError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${req.path}`);
  }

  async function handle(req: CloudRequest): Promise<CloudResponse> {
    const requestId = newRequestId();
    try {
      authenticate(req);
      return await route(req, requestId);
    } catch (e) {
      if (e instanceof FcError) return errorResponse(e.status, e.code, e.message, requestId);
      if (e instanceof URIError) return errorResponse(400, 'InvalidArgument', 'malformed percent-encoding in path', requestId);
      throw e;
    }
  }

  function operation(req: CloudRequest): { op: string; scope?: string } | null {
    const sm = SERVICE_ROUTE.exec(req.path);
    if (sm) {
      const op = ({ GET: 'getService', PUT: 'updateService' } as Record<string, string>)[req.method];
      return op ? { op: `fc:${op}`, scope: sm[1]!.split('.')[0]! } : null;
    }
    const fm = FUNCTION_ROUTE.exec(req.path);
    if (fm) {
      const op = ({ GET: 'getFunction', PUT: 'updateFunction' } as Record<string, string>)[req.method];
      return op ? { op: `fc:${op}`, scope: `${fm[1]!.split('.')[0]}/${fm[2]}` } : null;
    }
    const m = ROUTE.exec(req.path);
    if (!m) return null;
    const [, svcSeg, fnSeg, kind, sub] = m as unknown as [string, string, string, string, string | undefined];
    const scope = `${svcSeg.split('.')[0]}/${fnSeg}`;
    const method = req.method;
    const table: Record<string, string | undefined> = {
      triggers: sub
        ? ({ GET: 'getTrigger', PUT: 'updateTrigger', DELETE: 'deleteTrigger' } as Record<string, string>)[method]
        : ({ POST: 'createTrigger', GET: 'listTriggers' } as Record<string, string>)[method],
      invocations: method === 'POST' ? 'invokeFunction' : undefined,
      'async-invoke-config': ({ PUT: 'putFunctionAsyncConfig', GET: 'getFunctionAsyncConfig', DELETE: 'deleteFunctionAsyncConfig' } as Record<string, string>)[method],
      'async-invoke-configs': method === 'GET' ? 'listFunctionAsyncConfigs' : undefined,
    };
    const op = table[kind];
    return op ? { op: `fc:${op}`, scope } : null;
  }

  async function admin(req: CloudRequest): Promise<CloudResponse | null> {
    if (!req.path.startsWith('/_local/fc/')) return null;
    if (req.method === 'GET' && req.path === '/_local/fc/invocations') {
      const service = req.query.get('service') ?? undefined;
      const fn = req.query.get('function') ?? undefined;
      return { status: 200, body: invocations.filter((i) => (!service || i.service === service) && (!fn || i.function === fn)) };
    }
    if (req.method === 'GET' && req.path === '/_local/fc/state') return { status: 200, body: snapshot() };
    return { status: 404, body: { error: `no admin route ${req.method} ${req.path}` } };
  }

  function snapshot(): unknown {
    const out: Record<string, { service: FcServiceInfo | undefined; functions: Record<string, { environmentVariables: string[]; triggers: FcTrigger[]; asyncConfigs: Record<string, unknown>[] }> }> =
      {};
    for (const [svc, fns] of functions) {
      const entry: (typeof out)[string] = { service: services.get(svc), functions: {} };
      // Names only: values may be secrets, and the state route is plain HTTP.
      for (const [fn, st] of fns)
        entry.functions[fn] = { environmentVariables: Object.keys(st.environmentVariables), triggers: [...st.triggers.values()], asyncConfigs: [...st.asyncConfigs.values()] };
      out[svc] = entry;
    }
    return { accountId: env.seed.fc.accountId, services: out, invocations };
  }

  return {
    name: 'fc',
    owns: (req) => req.path.startsWith(`${PREFIX}/`),
    operation,
    handle,
    throttled(_req, waitMs) {
      return errorResponse(429, 'ResourceThrottled', 'request was throttled, please retry later', newRequestId(), { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) });
    },
    serverError(_req, status) {
      return status === 503
        ? errorResponse(503, 'ServiceUnavailable', 'the service is temporarily unavailable', newRequestId())
        : errorResponse(status, 'InternalServerError', 'an internal error occurred, please retry', newRequestId());
    },
    reset,
    snapshot,
    setInvokeResponder(service, fn, responder) {
      const st = functions.get(service)?.get(fn);
      if (!st) throw new Error(`function ${service}/${fn} is not seeded`);
      st.responder = responder;
    },
    invocations: (filter = {}) => invocations.filter((i) => (!filter.service || i.service === filter.service) && (!filter.function || i.function === filter.function)),
    trigger: (service, fn, name) => functions.get(service)?.get(fn)?.triggers.get(name),
    asyncConfig: (service, fn, qualifier = 'LATEST') => functions.get(service)?.get(fn)?.asyncConfigs.get(qualifier),
    service: (name) => services.get(name),
    environment: (service, fn) => functions.get(service)?.get(fn)?.environmentVariables,
    admin,
    caller(req) {
      const auth = parseFcAuthorization(req.headers['authorization'] ?? '');
      return auth ? env.seed.alibaba.accounts.find((a) => a.accessKeyId === auth.accessKeyId)?.accountId : undefined;
    },
    errorResponse: (_req, status, code, message = code) => errorResponse(status, code, message, newRequestId()),
  };
}
