/**
 * One JSON line per task state change, written by the ledger after the change commits (every path
 * that moves a task goes through the ledger: the webhook, the sweep, cancel and rerun alike).
 * Fields (README "Log fields"): taskId, replicationId, image, target, rule, provider, action, from, to,
 * attempt, reason, and for a failure code, requestId, message. Level: info for progress, warn for a
 * retry (back to pending with an error), error for a final failure (failed, timed_out).
 */
import { clip, log } from '../log.ts';
import type { TaskRow } from './rows.ts';
import type { TaskState } from './states.ts';

const taskLog = log.child({ component: 'ledger' });

/** The source image as `registry/namespace/repository[:tag][@digest]` (registry: instance id or host). */
export interface ImageParts {
  source: string;
  namespace: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

export function imageName(r: ImageParts): string {
  return `${r.source}/${r.namespace}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The SQL columns imageName reads, from a `replications` row aliased `r`. */
export const IMAGE_COLUMNS = 'r.source, r.namespace, r.repository, r.tag, r.digest';

export function imageFromRow(row: Record<string, unknown>): string {
  const s = (v: unknown) => (v == null ? null : String(v));
  return imageName({ source: String(row.source), namespace: String(row.namespace), repository: String(row.repository), tag: s(row.tag), digest: s(row.digest) });
}

export interface TaskChange {
  task: Pick<TaskRow, 'id' | 'replicationId' | 'targetKey' | 'rule' | 'provider' | 'action' | 'attempts'>;
  image: string;
  from: TaskState | null;
  to: TaskState;
  reason: string;
  error?: { code: string; message: string; requestId?: string | null | undefined } | null | undefined;
}

const FINAL_FAILURES: ReadonlySet<string> = new Set(['failed', 'timed_out']);

export function taskChangeLevel(c: Pick<TaskChange, 'to' | 'error'>): 'info' | 'warn' | 'error' {
  if (FINAL_FAILURES.has(c.to)) return 'error';
  if (c.to === 'pending' && c.error) return 'warn';
  return 'info';
}

export function logTaskChange(c: TaskChange): void {
  taskLog[taskChangeLevel(c)]('task state', {
    taskId: c.task.id,
    replicationId: c.task.replicationId,
    image: c.image,
    target: c.task.targetKey,
    rule: c.task.rule,
    provider: c.task.provider,
    action: c.task.action,
    from: c.from,
    to: c.to,
    attempt: c.task.attempts,
    reason: clip(c.reason),
    ...(c.error ? { code: c.error.code, requestId: c.error.requestId ?? null, message: clip(c.error.message, 500) } : {}),
  });
}

/** Writes the lines of changes made in a transaction once it has committed. */
export async function loggingChanges<T>(run: (changes: TaskChange[]) => Promise<T>): Promise<T> {
  const changes: TaskChange[] = [];
  const out = await run(changes);
  for (const c of changes) logTaskChange(c);
  return out;
}
