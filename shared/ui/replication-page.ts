/** One replication: its source image, every target with its state, and every attempt of each. */
import type { ReplicationRow, TaskDetail } from '../ledger/index.ts';
import { imageName, isRerunnable } from '../ledger/index.ts';
import { type Action, actionBar } from './forms.ts';
import { errorOf, replicationHref, shortId, state, taskHref, time } from './format.ts';
import { type Html, html } from './html.ts';
import type { Session } from './session.ts';
import { cloudTasks, timeline } from './task-page.ts';

export function replicationActions(r: ReplicationRow, tasks: readonly TaskDetail[]): Action[] {
  const retryable = tasks.filter((d) => isRerunnable(d.task.state)).length;
  if (retryable === 0) return [];
  return [
    {
      path: `${replicationHref(r.id)}/retry`,
      label: `Retry ${retryable} finished target${retryable > 1 ? 's' : ''}`,
      question: `Retry the failed, canceled or timed-out targets of replication ${r.id}?`,
    },
  ];
}

export function replicationBody(r: ReplicationRow, tasks: readonly TaskDetail[], session: Session, now: number, notice?: string): Html {
  return html`<h1>Replication <code>${r.id}</code> ${state(r.state)}</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<dl>
<dt>Source image</dt><dd><code id="source-image">${imageName(r)}</code></dd>
<dt>Source</dt><dd>${r.sourceKind}${r.region ? ` · ${r.region}` : ''}</dd>
<dt>Action</dt><dd>${r.action}</dd>
<dt>Rules</dt><dd>${r.rules.join(', ') || '—'}</dd>
<dt>Pushed</dt><dd>${time(r.pushedAt, now)}</dd>
<dt>Received</dt><dd>${time(r.receivedAt, now)}</dd>
<dt>Updated</dt><dd>${time(r.updatedAt, now)}</dd>
</dl>
${actionBar(replicationActions(r, tasks), session)}
<h2>Targets</h2>
<table id="targets"><thead><tr><th>Task</th><th>Target</th><th>Rule</th><th>State</th><th>Attempts</th><th>Last error</th></tr></thead><tbody>
${tasks.map(
  ({ task: t }) => html`<tr><td><a href="${taskHref(t.id)}">${shortId(t.id)}</a></td><td><code>${t.targetKey}</code></td><td>${t.rule ?? '—'}</td><td>${state(t.state)}</td>
<td class="num">${t.attempts}</td><td>${errorOf(t.lastError)}</td></tr>`,
)}</tbody></table>
<h2>Attempts</h2>
${tasks.map(
  (d) => html`<details open><summary><code>${d.task.targetKey}</code> ${state(d.task.state)} · ${d.task.attempts} attempt${d.task.attempts === 1 ? '' : 's'}</summary>
${cloudTasks(d.cloudRefs, now)}${timeline(d.events, now)}</details>`,
)}`;
}
