/** One task: what it replicates, where it stands, every cloud task it made, and its time line of events. */
import type { CloudRefRow, ReplicationRow, TaskDetail, TaskEvent, TaskRow } from '../ledger/index.ts';
import { imageName, isRerunnable, isTerminal } from '../ledger/index.ts';
import { type Action, actionBar } from './forms.ts';
import { errorOf, replicationHref, state, taskHref, time } from './format.ts';
import { type Html, html } from './html.ts';
import type { Session } from './session.ts';

export function taskActions(t: TaskRow): Action[] {
  const out: Action[] = [];
  if (!isTerminal(t.state)) out.push({ path: `${taskHref(t.id)}/cancel`, label: 'Cancel', question: `Cancel task ${t.id}?`, danger: true });
  if (isRerunnable(t.state)) out.push({ path: `${taskHref(t.id)}/retry`, label: 'Retry', question: `Retry task ${t.id}?` });
  return out;
}

/** What an event's details say about an error, the cloud's request, or who asked for what. */
function eventDetail(e: TaskEvent): Html | string {
  const d = e.details;
  const err = (d.error ?? d.previousError) as { code?: unknown; message?: unknown; requestId?: unknown } | undefined;
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return errorOf({ code: err.code, message: typeof err.message === 'string' ? err.message : '', requestId: typeof err.requestId === 'string' ? err.requestId : null });
  }
  const cloud = d.cloud as { requestId?: unknown } | undefined;
  if (cloud && typeof cloud.requestId === 'string') return html`<span class="muted">request id</span> <code>${cloud.requestId}</code>`;
  return '';
}

export function timeline(events: readonly TaskEvent[], now: number): Html {
  return html`<table class="timeline"><thead><tr><th>When</th><th>Change</th><th>Reason</th><th>By</th><th>Error / request</th></tr></thead><tbody>
${events.map(
  (e) => html`<tr><td>${time(e.at, now)}</td><td>${e.fromState ? html`${state(e.fromState)} → ` : ''}${state(e.toState)}</td><td>${e.reason}</td><td>${e.actor}</td><td>${eventDetail(e)}</td></tr>`,
)}</tbody></table>`;
}

export function cloudTasks(refs: readonly CloudRefRow[], now: number): Html {
  if (refs.length === 0) return html`<p class="muted">No cloud task was created.</p>`;
  return html`<table class="attempts"><thead><tr><th>Attempt</th><th>Cloud task</th><th>Created at the cloud</th><th>Recorded</th></tr></thead><tbody>
${refs.map((r) => html`<tr><td class="num">${r.attempt}</td><td><code>${r.cloudRef}</code></td><td>${time(r.createdAt, now)}</td><td>${time(r.recordedAt, now)}</td></tr>`)}
</tbody></table>`;
}

export function taskBody(d: TaskDetail, rep: ReplicationRow | null, session: Session, now: number, notice?: string): Html {
  const t = d.task;
  return html`<h1>Task <code>${t.id}</code> ${state(t.state)}</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<dl>
<dt>Source image</dt><dd>${rep ? html`<code>${imageName(rep)}</code> · <a href="${replicationHref(rep.id)}">replication</a>` : html`<a href="${replicationHref(t.replicationId)}">replication</a>`}</dd>
<dt>Target</dt><dd><code>${t.targetKey}</code></dd>
<dt>Rule</dt><dd>${t.rule ?? '—'}</dd>
<dt>Provider · action</dt><dd>${t.provider} · ${t.action}</dd>
<dt>Attempts</dt><dd>${t.attempts} of ${t.maxAttempts}${t.reruns ? ` (re-run ${t.reruns}×)` : ''}</dd>
<dt>Cloud task</dt><dd>${t.cloudRef ? html`<code>${t.cloudRef}</code>` : '—'}${t.cloudStatus ? html` <span class="muted">(${t.cloudStatus})</span>` : ''}</dd>
<dt>Last error</dt><dd>${errorOf(t.lastError)}</dd>
${t.cancelRequestedAt ? html`<dt>Cancel requested</dt><dd>${time(t.cancelRequestedAt, now)} ${t.cancelReason ?? ''}</dd>` : ''}
<dt>Next attempt</dt><dd>${time(t.nextAttemptAt, now)}</dd>
<dt>Deadline</dt><dd>${time(t.deadlineAt, now)}</dd>
<dt>Created</dt><dd>${time(t.createdAt, now)}</dd>
<dt>Finished</dt><dd>${time(t.finishedAt, now)}</dd>
</dl>
${actionBar(taskActions(t), session)}
<h2>Time line</h2>
${timeline(d.events, now)}
<h2>Cloud tasks (one per submission)</h2>
${cloudTasks(d.cloudRefs, now)}`;
}
