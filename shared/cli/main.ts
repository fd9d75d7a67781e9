/**
 * `ferry`: the operator CLI. Talks to a deployed or local Ferry API (--url, default env FERRY_URL
 * or http://127.0.0.1:8080; token from env FERRY_API_TOKEN), or works locally (config check,
 * sweep, replay). Human-readable by default, `--json` for scripts.
 * Exit codes: 0 ok, 1 failure (HTTP error, invalid config, …), 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { request } from 'undici';
import type { ErrorDetail } from '../http/errors.ts';
import { GLOBAL_HELP, HELP } from './help.ts';
import { keyValues, shortTime, table, type Io } from './output.ts';
import { formatTriggers, triggersExit } from './triggers.ts';
import { type CommandKit, plan, retry } from './rerun.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

class UsageError extends Error {}

const OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  state: { type: 'string' },
  provider: { type: 'string' },
  action: { type: 'string' },
  repository: { type: 'string' },
  namespace: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  reason: { type: 'string' },
  rule: { type: 'string' },
  'dry-run': { type: 'boolean' },
  digest: { type: 'string' },
  acr: { type: 'boolean' },
  apply: { type: 'boolean' },
  ecs: { type: 'boolean' },
  swr: { type: 'boolean' },
  region: { type: 'string' },
  kind: { type: 'string' },
  instance: { type: 'string' },
  source: { type: 'string' },
  platform: { type: 'string', multiple: true },
  referrers: { type: 'boolean' },
  'src-creds': { type: 'string' },
  'dest-creds': { type: 'string' },
  resolve: { type: 'boolean' },
  'structure-only': { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

export interface CliEnv {
  env: Record<string, string | undefined>;
  io: Io;
}

export async function main(argv: string[], ctx: CliEnv): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values as Values;
    positionals = parsed.positionals;
  } catch (err) {
    ctx.io.err(`ferry: ${(err as Error).message}\nRun "ferry --help" for usage.`);
    return EXIT.usage;
  }
  const [command, ...args] = positionals;
  if (!command) {
    (values.help ? ctx.io.out : ctx.io.err)(GLOBAL_HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (values.help) {
    const help = HELP[command];
    if (!help) return usage(ctx, `unknown command "${command}"`);
    ctx.io.out(help);
    return EXIT.ok;
  }
  try {
    switch (command) {
      case 'tasks':
        return await listTasks(ctx, values, args);
      case 'task':
        return await showTask(ctx, values, args);
      case 'cancel':
        return await cancel(ctx, values, args);
      case 'replication':
        return await showReplication(ctx, values, args);
      case 'replications':
        return await listReplications(ctx, values, args);
      case 'retry':
        return await retry(kit(ctx, values), args, { state: values.state, rule: values.rule, since: values.since, dryRun: values['dry-run'], reason: values.reason });
      case 'plan':
        return await plan(kit(ctx, values), args, { source: values.source, digest: values.digest });
      case 'health':
        return await health(ctx, values, args);
      case 'triggers':
        return await triggers(ctx, values, args);
      case 'config':
        return await configCheck(ctx, values, args);
      case 'sweep':
        return await sweep(ctx, values, args);
      case 'backfill':
        return await backfill(ctx, values, args);
      case 'replay':
        return await replay(ctx, values, args);
      case 'cloud':
        return await cloud(args);
      case 'copy':
        return await copy(ctx, values, args);
      case 'help':
        ctx.io.out((args[0] ? HELP[args[0]] : undefined) ?? GLOBAL_HELP);
        return EXIT.ok;
      default:
        return usage(ctx, `unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(ctx, err.message, command);
    ctx.io.err(`ferry: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failure;
  }
}

function usage(ctx: CliEnv, message: string, command?: string): number {
  ctx.io.err(`ferry: ${message}\n${command && HELP[command] ? HELP[command] : 'Run "ferry --help" for usage.'}`);
  return EXIT.usage;
}

function expectArgs(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`missing ${what}`);
  if (args.length > n) throw new UsageError(`unexpected argument "${args[n]}"`);
}

// ---------------------------------------------------------------- API client

interface ApiAnswer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

function baseUrl(ctx: CliEnv, v: Values): string {
  const url = v.url ?? ctx.env.FERRY_URL ?? 'http://127.0.0.1:8080';
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--url: "${url}" is not an http(s) URL`);
  }
  return url.replace(/\/+$/, '');
}

async function api(ctx: CliEnv, v: Values, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiAnswer> {
  const token = ctx.env.FERRY_API_TOKEN;
  if (!token) throw new Error('FERRY_API_TOKEN is not set: export the API token to use');
  const url = baseUrl(ctx, v) + path;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, body: parsed, headers: res.headers };
}

/**
 * An error answer in words: `HTTP <status> <code>: <message>` and, when present, the field at
 * fault, the task's state, the cloud's code and request id, the invocation id and Retry-After.
 * Reads the error envelope {error:{status, code, message, field?, …}} (shared/http/errors.ts);
 * the flat {error:'Code', message} of older deployments' runtime and non-JSON bodies still print.
 */
export function describeError(status: number, body: unknown, headers: ApiAnswer['headers'] = {}): string {
  const b = body !== null && typeof body === 'object' ? (body as { error?: unknown; message?: unknown; requestId?: unknown }) : {};
  const e: Partial<Record<keyof ErrorDetail, unknown>> | undefined =
    b.error !== null && typeof b.error === 'object' ? b.error : typeof b.error === 'string' ? { code: b.error, message: b.message, requestId: b.requestId } : undefined;
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const lines: string[] = [];
  if (e && (text(e.code) || text(e.message))) {
    lines.push(`ferry: HTTP ${status}${text(e.code) ? ` ${text(e.code)}` : ''}: ${text(e.message) ?? '(no message)'}`);
    if (text(e.field)) lines.push(`  field: ${text(e.field)}`);
    if (text(e.state)) lines.push(`  state: ${text(e.state)}`);
    const cloud = e.cloud as { code?: unknown; requestId?: unknown } | undefined;
    if (cloud && text(cloud.code)) lines.push(`  cloud: ${text(cloud.code)} (request id ${text(cloud.requestId) ?? '-'})`);
    if (text(e.requestId)) lines.push(`  request id: ${text(e.requestId)}`);
  } else {
    lines.push(`ferry: HTTP ${status}: ${(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 500)}`);
  }
  const retry = headers['retry-after'];
  if (retry) lines.push(`  retry after: ${String(retry)}s`);
  return lines.join('\n');
}

/** Prints an API error (JSON with --json) and returns the exit code for it. */
function failed(ctx: CliEnv, v: Values, a: ApiAnswer): number {
  if (v.json) {
    ctx.io.out(JSON.stringify(typeof a.body === 'object' ? a.body : { error: { status: a.status, message: String(a.body) } }, null, 2));
    return EXIT.failure;
  }
  ctx.io.err(describeError(a.status, a.body, a.headers));
  return EXIT.failure;
}

/** The API client and printers the commands of other modules use. */
function kit(ctx: CliEnv, v: Values): CommandKit {
  return {
    io: ctx.io,
    json: v.json === true,
    post: (path, body) => api(ctx, v, 'POST', path, body),
    failed: (a) => failed(ctx, v, { headers: {}, ...a }),
    usage: (message) => new UsageError(message),
  };
}

function printJson(ctx: CliEnv, value: unknown): number {
  ctx.io.out(JSON.stringify(value, null, 2));
  return EXIT.ok;
}

// ---------------------------------------------------------------- commands

const TASK_COLUMNS = ['id', 'provider', 'state', 'target', 'attempts', 'cloudRef', 'created', 'action'];

function taskRow(t: any): Record<string, unknown> {
  return { ...t, target: t.targetKey, attempts: `${t.attempts}/${t.maxAttempts}`, created: shortTime(t.createdAt) };
}

/** The query of a listing from the options given, and the same filters as CLI options (for the next-page hint). */
function listQuery(v: Values, keys: readonly (keyof Values)[]): { query: URLSearchParams; options: string[] } {
  const query = new URLSearchParams();
  const options: string[] = [];
  for (const k of keys) {
    const value = v[k];
    if (typeof value !== 'string') continue;
    query.set(k, value);
    if (k !== 'cursor') options.push(`--${k}`, shellWord(value));
  }
  return { query, options };
}

/** `value` as one word of a POSIX shell command line. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function listPage(ctx: CliEnv, v: Values, command: 'tasks' | 'replications', keys: readonly (keyof Values)[], print: (items: any[]) => string): Promise<number> {
  const { query, options } = listQuery(v, keys);
  const a = await api(ctx, v, 'GET', `/${command}${query.size ? `?${query}` : ''}`);
  if (a.status !== 200) return failed(ctx, v, a);
  if (v.json) return printJson(ctx, a.body);
  ctx.io.out(print(a.body.items));
  if (a.body.nextCursor) ctx.io.out(`\nmore: ${['ferry', command, ...options, '--cursor', a.body.nextCursor].join(' ')}`);
  return EXIT.ok;
}

async function listTasks(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  return listPage(ctx, v, 'tasks', ['state', 'provider', 'action', 'namespace', 'repository', 'since', 'limit', 'cursor'], (items) => table(items.map(taskRow), TASK_COLUMNS));
}

async function listReplications(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  return listPage(ctx, v, 'replications', ['state', 'namespace', 'repository', 'since', 'limit', 'cursor'], (items) =>
    table(
      items.map((r) => ({ ...r, image: `${r.namespace}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest && !r.tag ? `@${r.digest}` : ''}`, received: shortTime(r.receivedAt) })),
      ['id', 'action', 'state', 'source', 'image', 'rules', 'received'],
    ),
  );
}

async function showTask(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 1, 'task id');
  const a = await api(ctx, v, 'GET', `/tasks/${encodeURIComponent(args[0]!)}`);
  if (a.status !== 200) return failed(ctx, v, a);
  if (v.json) return printJson(ctx, a.body);
  if (a.body.ecsTask) {
    const e = a.body.ecsTask;
    ctx.io.out(
      keyValues([
        ['ecs task', e.taskId],
        ['region', e.region],
        ['action', e.action],
        ['state', e.state],
        ['cloud status', e.cloudStatus],
        ['created', shortTime(e.createdAt)],
      ]),
    );
    return EXIT.ok;
  }
  const t = a.body.task;
  ctx.io.out(
    keyValues([
      ['task', t.id],
      ['replication', t.replicationId],
      ['action', t.action],
      ['provider', t.provider],
      ['target', t.targetKey],
      ['rule', t.rule],
      ['state', t.state],
      ['attempts', `${t.attempts}/${t.maxAttempts}`],
      ['cloud ref', t.cloudRef],
      ['cloud status', t.cloudStatus],
      ...copiedDigests(a.body.events),
      ['deadline', shortTime(t.deadlineAt)],
      ['last error', t.lastError ? `${t.lastError.code}: ${t.lastError.message}` : null],
      ['cancel requested', t.cancelRequestedAt ? `${shortTime(t.cancelRequestedAt)} (${t.cancelReason ?? ''})` : null],
      ['created', shortTime(t.createdAt)],
      ['finished', shortTime(t.finishedAt)],
    ]),
  );
  ctx.io.out('\nHistory:');
  ctx.io.out(
    table(
      a.body.events.map((e: any) => ({ at: shortTime(e.at), from: e.fromState, to: e.toState, actor: e.actor, reason: e.reason })),
      ['at', 'from', 'to', 'actor', 'reason'],
    ),
  );
  return EXIT.ok;
}

/** A copy Ferry made records both digests in the event that ended it. */
function copiedDigests(events: Array<{ details?: Record<string, unknown> }>): Array<[string, unknown]> {
  const d = [...events].reverse().find((e) => typeof e.details?.targetDigest === 'string')?.details;
  return d
    ? [
        ['source digest', d.sourceDigest],
        ['target digest', d.targetDigest],
      ]
    : [];
}

async function cancel(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  const forms = [v.acr, v.ecs, v.swr].filter(Boolean).length;
  if (forms > 1) throw new UsageError('give at most one of --acr, --ecs, --swr');
  const reason = v.reason !== undefined ? { reason: v.reason } : {};
  let a: ApiAnswer;
  if (v.acr) {
    expectArgs(args, 2, '<instance-id> <rst-id>');
    a = await api(ctx, v, 'POST', '/cancel', { provider: 'acr', instanceId: args[0], syncTaskId: args[1], ...(v.region ? { region: v.region } : {}), ...reason });
  } else if (v.ecs) {
    expectArgs(args, 2, '<region> <t-id>');
    a = await api(ctx, v, 'POST', '/cancel', { provider: 'ecs', regionId: args[0], taskId: args[1], ...reason });
  } else if (v.swr) {
    expectArgs(args, 5, '<region> <namespace> <repository> <remote-region> <remote-namespace>');
    const [region, namespace, repository, remoteRegionId, remoteNamespace] = args;
    a = await api(ctx, v, 'POST', '/cancel', { provider: 'swr', region, namespace, repository, remoteRegionId, remoteNamespace, ...reason });
  } else {
    expectArgs(args, 1, 'task id');
    a = await api(ctx, v, 'POST', `/tasks/${encodeURIComponent(args[0]!)}/cancel`, reason);
  }
  if (a.status !== 200) return failed(ctx, v, a);
  if (v.json) return printJson(ctx, a.body);
  const b = a.body;
  const what = b.taskId ? `task ${b.taskId}` : `${b.provider} task`;
  ctx.io.out(b.alreadyCanceled ? `${what} was already canceled` : `${what} canceled`);
  const details: Array<[string, unknown]> = [
    ['provider', b.provider],
    ['cloud call', b.cloudCall ? 'yes' : 'no'],
    ['cloud status', b.cloudStatus],
    ['request id', b.requestId],
  ];
  if (b.note) details.push(['note', b.note]);
  ctx.io.out(keyValues(details));
  return EXIT.ok;
}

async function showReplication(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 1, 'replication id');
  const a = await api(ctx, v, 'GET', `/replications/${encodeURIComponent(args[0]!)}`);
  if (a.status !== 200) return failed(ctx, v, a);
  if (v.json) return printJson(ctx, a.body);
  const r = a.body.replication;
  ctx.io.out(
    keyValues([
      ['replication', r.id],
      ['source', r.source],
      ['image', `${r.namespace}/${r.repository}:${r.tag ?? r.digest ?? ''}`],
      ['state', r.state],
      ['received', shortTime(r.receivedAt)],
    ]),
  );
  ctx.io.out('\nTasks:');
  ctx.io.out(table(a.body.tasks.map(taskRow), TASK_COLUMNS));
  return EXIT.ok;
}

async function health(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  const url = `${baseUrl(ctx, v)}/healthz`;
  const res = await request(url, { method: 'GET' }).catch((err: Error) => {
    throw new Error(`cannot reach ${url}: ${err.message}`);
  });
  const body = (await res.body.json().catch(() => ({}))) as Record<string, unknown>;
  if (v.json) ctx.io.out(JSON.stringify(body, null, 2));
  else ctx.io.out(keyValues(Object.entries(body)));
  return res.statusCode === 200 ? EXIT.ok : EXIT.failure;
}

async function triggers(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  const a = v.apply ? await api(ctx, v, 'POST', '/triggers/apply', {}) : await api(ctx, v, 'GET', '/triggers');
  if (a.status !== 200) return failed(ctx, v, a);
  if (v.json) ctx.io.out(JSON.stringify(a.body, null, 2));
  else ctx.io.out(formatTriggers(a.body));
  return triggersExit(a.body);
}

async function configCheck(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  if (args[0] !== 'check') throw new UsageError(args[0] ? `unknown config command "${args[0]}"` : 'missing "check"');
  if (args.length > 2) throw new UsageError(`unexpected argument "${args[2]}"`);
  const { loadConfig, ConfigError } = await import('../config/index.ts');
  if (v['structure-only'] && v.resolve) throw new UsageError('give --structure-only or --resolve, not both');
  try {
    if (v['structure-only']) {
      const { checkStructure } = await import('../config/structure.ts');
      const r = checkStructure({ ...(args[1] ? { path: args[1] } : {}), env: ctx.env, registerSecrets: false });
      if (v.json) return printJson(ctx, { ok: true, structureOnly: true, ...r, file: r.file ?? null });
      ctx.io.out(`config ${r.file ?? '(defaults)'} structure is valid: ${r.sources} source(s), ${r.rules} rule(s)`);
      if (r.variables.length) ctx.io.out(`Not set here, so not checked (a full check and the deployed function need them): ${r.variables.join(', ')}`);
      if (r.kmsSecrets.length) ctx.io.out(`KMS secrets (resolved at run time): ${r.kmsSecrets.map((k) => k.name).join(', ')}`);
      return EXIT.ok;
    }
    const options = { ...(args[1] ? { path: args[1] } : {}), env: ctx.env, registerSecrets: false };
    const config = v.resolve ? await loadWithKms(ctx, options) : loadConfig(options);
    const kms = config.kms?.refs ?? [];
    const summary = {
      ok: true,
      file: config.file ?? null,
      sources: config.sources.length,
      rules: config.rules.length,
      apiTokens: config.auth.apiTokens.length,
      kmsSecrets: kms,
      kmsResolved: Boolean(v.resolve),
    };
    if (v.json) return printJson(ctx, summary);
    ctx.io.out(`config ${config.file ?? '(defaults)'} is valid: ${summary.sources} source(s), ${summary.rules} rule(s)`);
    if (kms.length) {
      ctx.io.out(v.resolve ? 'KMS secrets (each read):' : 'KMS secrets (resolved at run time; --resolve reads them now):');
      for (const r of kms) ctx.io.out(`  ${r.name}  ← ${r.fields.join(', ')}`);
    }
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (v.json) ctx.io.out(JSON.stringify({ ok: false, file: err.file ?? null, issues: err.issues }, null, 2));
    else ctx.io.err(err.message);
    return EXIT.failure;
  }
}

/** `config check --resolve`: reads every `${kms:…}` secret with this shell's Alibaba keys (values never printed). */
async function loadWithKms(ctx: CliEnv, options: { path?: string; env: Record<string, string | undefined>; registerSecrets: boolean }) {
  const { loadResolvedConfig } = await import('../config/resolve.ts');
  const { kmsSecretFetcher, SecretCache } = await import('../runtime/kms-secrets.ts');
  return loadResolvedConfig(options, (unresolved) => kmsSecretFetcher(unresolved, { env: ctx.env, cache: new SecretCache() }));
}

async function sweep(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  const { buildDeps } = await import('../runtime/bootstrap.ts');
  // Resolved at run time: the sweep lives in shared/sweep/run.ts.
  const sweepModule = '../sweep/run.ts';
  const { runSweep } = (await import(sweepModule)) as { runSweep: (deps: unknown) => Promise<unknown> };
  // A one-shot sweep from an operator's shell serves nothing: the deployed-function checks (tokens, a
  // PostgreSQL ledger) do not apply, so without DATABASE_URL it opens the PGlite ledger `npm start` uses
  // (<FERRY_DATA_DIR or store.dataDir>/ledger). An explicit FERRY_MODE is kept.
  const deps = await buildDeps({ ...ctx.env, FERRY_MODE: ctx.env.FERRY_MODE || 'local' } as NodeJS.ProcessEnv);
  try {
    const result = await runSweep(deps);
    if (v.json) return printJson(ctx, result ?? {});
    ctx.io.out('sweep done');
    if (result && typeof result === 'object') ctx.io.out(keyValues(Object.entries(result as Record<string, unknown>)));
    return EXIT.ok;
  } finally {
    await deps.ledger.close().catch(() => {});
  }
}

async function backfill(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 0, '');
  const { BackfillUsageError, printSummary, runBackfillCommand } = await import('./backfill.ts');
  try {
    const { result } = await runBackfillCommand({ rule: v.rule, repository: v.repository, since: v.since, dryRun: v['dry-run'] === true, json: v.json === true }, ctx.env, ctx.io);
    if (v.json) printJson(ctx, result);
    else printSummary(ctx.io, result);
    return result.done ? EXIT.ok : EXIT.failure;
  } catch (err) {
    if (err instanceof BackfillUsageError) throw new UsageError(err.message);
    throw err;
  }
}

async function replay(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  expectArgs(args, 1, 'payload file');
  if (!v.kind) throw new UsageError('--kind is required (acr, harbor, distribution, dockerhub, cloudevents)');
  if (!/^[a-z][a-z0-9-]{1,31}$/.test(v.kind)) throw new UsageError(`--kind: "${v.kind}" is not a webhook kind`);
  let payload: string;
  try {
    payload = readFileSync(args[0]!, 'utf8');
    JSON.parse(payload);
  } catch (err) {
    throw new Error(`${args[0]}: ${(err as Error).message.split('\n')[0]}`);
  }
  const token = ctx.env.FERRY_WEBHOOK_TOKEN;
  if (!token) throw new Error('FERRY_WEBHOOK_TOKEN is not set: export the webhook token to use');
  // The token travels in the Authorization header only: URLs end up in logs.
  const q = new URLSearchParams();
  if (v.instance) q.set('instance', v.instance);
  if (v.source) q.set('source', v.source);
  const url = `${baseUrl(ctx, v)}/webhooks/${v.kind}${q.size ? `?${q}` : ''}`;
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: payload,
  }).catch((err: Error) => {
    throw new Error(`cannot reach ${baseUrl(ctx, v)}: ${err.message}`);
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text
  }
  if (v.json) ctx.io.out(JSON.stringify({ status: res.statusCode, body }, null, 2));
  else if (res.statusCode < 300) ctx.io.out(`HTTP ${res.statusCode}\n${typeof body === 'string' ? body : JSON.stringify(body, null, 2)}`);
  else ctx.io.err(describeError(res.statusCode, body, res.headers));
  return res.statusCode < 300 ? EXIT.ok : EXIT.failure;
}

async function copy(ctx: CliEnv, v: Values, args: string[]): Promise<number> {
  const { CopyUsageError, copyRequest, progressLine, runCopy } = await import('./copy.ts');
  let req: ReturnType<typeof copyRequest>;
  try {
    req = copyRequest(args, v, ctx.env);
  } catch (err) {
    if (err instanceof CopyUsageError) throw new UsageError(err.message);
    throw err;
  }
  const tty = !v.json && ctx.io.isTTY?.() === true;
  const r = await runCopy(req, tty ? (p) => ctx.io.progress?.(progressLine(p)) : undefined);
  if (tty) ctx.io.progress?.(null);
  const names = { source: `${req.src.host}/${req.src.repository}${req.src.digest ? `@${req.src.digest}` : `:${req.src.tag}`}`, destination: `${req.dst.host}/${req.dst.repository}:${req.dst.tag}` };
  if (v.json) {
    const result = r.ok ? { ok: true, ...names, sourceDigest: r.sourceDigest, targetDigest: r.targetDigest, stats: r.stats } : { ok: false, ...names, error: { code: r.code, message: r.message } };
    ctx.io.out(JSON.stringify(result, null, 2));
    return r.ok ? EXIT.ok : EXIT.failure;
  }
  if (!r.ok) {
    ctx.io.err(`ferry: copy failed: ${r.code}: ${r.message}`);
    return EXIT.failure;
  }
  ctx.io.out(`copied ${names.source} → ${names.destination} (${r.targetDigest})`);
  return EXIT.ok;
}

async function cloud(args: string[]): Promise<number> {
  // The emulator's own entry reads its seed file from argv[2] and runs until SIGINT/SIGTERM.
  process.argv = [process.argv[0]!, 'local-cloud', ...args];
  const entry = '../../local/cloud/cli.ts';
  await import(entry);
  return new Promise<number>(() => {});
}

/** The process entry (bin/ferry.js): runs `main` on argv and sets the exit code. */
export async function run(): Promise<void> {
  // `ferry tasks --json | head -1`: the reader went away; that is the reader's choice, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    process.stderr.write(`ferry: stdout: ${err.message}\n`);
    process.exit(EXIT.failure);
  });
  const io: Io = {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    isTTY: () => process.stderr.isTTY === true,
    progress: (l) => process.stderr.write(l === null ? '\n' : `\r${l}`),
  };
  try {
    process.exitCode = await main(process.argv.slice(2), { env: process.env, io });
  } catch (err) {
    process.stderr.write(`ferry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
