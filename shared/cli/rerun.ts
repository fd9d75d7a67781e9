/** `ferry retry` and `ferry plan`: re-running finished tasks and dry-running a push, through the API. */
import { keyValues, shortTime, table, type Io } from './output.ts';

export interface Answer {
  status: number;
  body: any;
}

/** What the commands need of the CLI around them (main.ts). */
export interface CommandKit {
  io: Io;
  json: boolean;
  post(path: string, body: unknown): Promise<Answer>;
  /** Prints an API error; returns the exit code. */
  failed(a: Answer): number;
  usage(message: string): Error;
}

export interface RetryOptions {
  state?: string | undefined;
  rule?: string | undefined;
  since?: string | undefined;
  dryRun?: boolean | undefined;
  reason?: string | undefined;
}

const OK = 0;

export async function retry(k: CommandKit, args: string[], o: RetryOptions): Promise<number> {
  const bulk = o.state !== undefined || o.rule !== undefined || o.since !== undefined || o.dryRun === true;
  if (args.length > 1) throw k.usage(`unexpected argument "${args[1]}"`);
  if (args.length === 1 && bulk) throw k.usage('give a task or replication id, or --state/--rule/--since/--dry-run, not both');
  if (args.length === 0 && !bulk) throw k.usage('missing task or replication id (or --state failed for every failed task)');
  return args.length === 1 ? retryOne(k, args[0]!, o.reason) : retryMany(k, o);
}

async function retryOne(k: CommandKit, id: string, reason: string | undefined): Promise<number> {
  const body = reason !== undefined ? { reason } : {};
  let a = await k.post(`/tasks/${encodeURIComponent(id)}/retry`, body);
  // One id for both: a replication id is no task id.
  if (a.status === 404 && a.body?.error?.code === 'TaskNotFound') a = await k.post(`/replications/${encodeURIComponent(id)}/retry`, body);
  if (a.status !== 200) return k.failed(a);
  if (k.json) return print(k, a.body);
  const b = a.body;
  if (b.replicationId) {
    k.io.out(`replication ${b.replicationId}: ${b.reopened} task(s) re-opened${b.alreadyReopened ? `, ${b.alreadyReopened} already re-opened before` : ''}`);
    k.io.out(
      table(
        b.tasks.map((t: any) => ({ task: t.taskId, was: t.previousState, now: t.state })),
        ['task', 'was', 'now'],
      ),
    );
    return OK;
  }
  k.io.out(b.reopened ? `task ${b.taskId} re-opened (was ${b.previousState}); the sweep submits it next` : `task ${b.taskId} was already re-opened (now ${b.task.state})`);
  k.io.out(keyValues([['attempts', `${b.task.attempts}/${b.task.maxAttempts}`]]));
  return OK;
}

async function retryMany(k: CommandKit, o: RetryOptions): Promise<number> {
  const filter = {
    ...(o.state !== undefined ? { state: o.state.split(',').map((s) => s.trim()) } : {}),
    ...(o.rule !== undefined ? { rule: o.rule } : {}),
    ...(o.since !== undefined ? { since: o.since } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    dryRun: o.dryRun === true,
  };
  const tasks: any[] = [];
  let cursor: string | null = null;
  do {
    const a = await k.post('/tasks/retry', { ...filter, ...(cursor ? { cursor } : {}) });
    if (a.status !== 200) return k.failed(a);
    tasks.push(...a.body.tasks);
    cursor = a.body.nextCursor;
  } while (cursor);
  const summary = { dryRun: filter.dryRun, matched: tasks.length, reopened: filter.dryRun ? 0 : tasks.length, tasks };
  if (k.json) return print(k, summary);
  k.io.out(
    table(
      tasks.map((t) => ({ task: t.taskId, rule: t.rule, target: t.targetKey, was: t.previousState, ended: shortTime(t.finishedAt), error: t.lastError })),
      ['task', 'rule', 'target', 'was', 'ended', 'error'],
    ),
  );
  k.io.out(filter.dryRun ? `\n${tasks.length} task(s) would be re-opened (dry run: nothing changed)` : `\n${tasks.length} task(s) re-opened; the sweep submits them next`);
  return OK;
}

export interface PlanOptions {
  source?: string | undefined;
  digest?: string | undefined;
}

export async function plan(k: CommandKit, args: string[], o: PlanOptions): Promise<number> {
  if (args.length === 0) throw k.usage('missing image reference');
  if (args.length > 1) throw k.usage(`unexpected argument "${args[1]}"`);
  const body = o.source !== undefined ? { source: o.source, ...namesOf(k, args[0]!), ...(o.digest ? { digest: o.digest } : {}) } : { image: o.digest ? `${args[0]}@${o.digest}` : args[0] };
  const a = await k.post('/plan', body);
  if (a.status !== 200) return k.failed(a);
  if (k.json) return print(k, a.body);
  const p = a.body;
  const img = p.image;
  k.io.out(
    keyValues([
      ['image', `${img.source}: ${img.namespace}/${img.repository}${img.tag ? `:${img.tag}` : ''}`],
      ...(p.matchedAs ? [['matched as', p.matchedAs] as [string, unknown]] : []),
      ['digest', p.digest.value ? `${p.digest.value} (${p.digest.from})` : p.digest.error ? `unknown: ${p.digest.error.code}: ${p.digest.error.message}` : 'unknown'],
    ]),
  );
  const rows = p.rules.flatMap((r: any) =>
    r.matched
      ? r.targets.map((t: any) => ({
          rule: r.rule,
          target: t.targetKey ?? `targets[${t.targetIndex}]`,
          action: t.action,
          'at target': atTarget(t),
          note: t.error ? `${t.error.field}: ${t.error.reason}` : t.task ? `task ${t.task.id} ${t.task.state}` : '',
        }))
      : [{ rule: r.rule, target: '-', action: 'no match', 'at target': '', note: r.reason }],
  );
  k.io.out(`\n${table(rows, ['rule', 'target', 'action', 'at target', 'note'])}`);
  const del = p.deletion;
  if (del && (del.targets.length || del.skipped.length)) {
    const effects = [
      ...del.targets.map((t: any) => ({ rule: t.rule, target: t.targetKey, 'on delete': 'delete', note: `copied by task ${t.copyTaskId}` })),
      ...del.skipped.map((t: any) => ({ rule: t.rule ?? '-', target: t.targetKey, 'on delete': 'keep', note: t.reason })),
    ];
    k.io.out(`\nA delete event of this image at the source would:\n${table(effects, ['rule', 'target', 'on delete', 'note'])}`);
  }
  k.io.out(`\nA push now would create ${p.wouldCreate} task(s) and re-open ${p.wouldReopen}${p.reason ? ` (${p.reason})` : ''}. Nothing was created.`);
  return OK;
}

function namesOf(k: CommandKit, ref: string): { namespace: string; repository: string; tag?: string } {
  const m = /^([^/:@]+)\/([^:@]+?)(?::([^:@/]+))?$/.exec(ref);
  if (!m) throw k.usage(`with --source, name the image as namespace/repository[:tag], not "${ref}"`);
  return { namespace: m[1]!, repository: m[2]!, ...(m[3] ? { tag: m[3] } : {}) };
}

function atTarget(t: any): string {
  const at = t.atTarget;
  if (!at) return '';
  if (at.state === 'error') return `error: ${at.error.code}`;
  if (at.state === 'unknown') return 'unknown';
  return at.state;
}

function print(k: CommandKit, value: unknown): number {
  k.io.out(JSON.stringify(value, null, 2));
  return OK;
}
