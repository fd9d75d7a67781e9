/** The overview: the last 24 hours of replications, lag, per-rule health, the oldest open task, what fails now. */
import type { LastSweep, Overview, ReplicationRow, RuleHealth } from '../ledger/index.ts';
import { imageName } from '../ledger/index.ts';
import { duration, errorOf, replicationHref, shortId, state, taskHref, time } from './format.ts';
import { type Html, html } from './html.ts';

export interface OverviewData {
  overview: Overview;
  recent: ReplicationRow[];
  lastSweep: LastSweep | null;
  /** Configured rule names: a rule with no task in the window still gets a row. */
  ruleNames: readonly string[];
  now: number;
}

function health(r: RuleHealth): string {
  if (r.failed > 0) return 'failing';
  if (r.retrying > 0) return 'retrying';
  if (r.succeeded + r.open + r.canceled === 0) return 'idle';
  return 'ok';
}

const seconds = (s: number | null) => (s === null ? '—' : duration(s));

export function overviewBody(d: OverviewData): Html {
  const { overview: o, now } = d;
  const r = o.replications;
  const rules = [...o.rules];
  for (const name of d.ruleNames) {
    if (!rules.some((x) => x.rule === name)) rules.push({ rule: name, succeeded: 0, failed: 0, canceled: 0, open: 0, retrying: 0, lastFailureAt: null });
  }
  rules.sort((a, b) => a.rule.localeCompare(b.rule));
  const oldest = o.oldestOpen;
  return html`<h1>Overview <span class="muted">· last 24 hours</span></h1>
<section class="cards" aria-label="summary">
<div class="card" id="replications"><div class="label">Replications</div><div class="big">${r.total}</div>
<div class="row"><span class="ok"><b data-k="succeeded">${r.succeeded}</b> succeeded</span><span class="bad"><b data-k="failed">${r.failed}</b> failed</span>
<span><b data-k="open">${r.open}</b> open</span><span class="muted"><b data-k="canceled">${r.canceled}</b> canceled</span></div></div>
<div class="card" id="lag"><div class="label">Lag, push → all targets done</div><div class="big">p50 <span data-k="p50">${seconds(o.lag.p50Seconds)}</span></div>
<div>p95 <b data-k="p95">${seconds(o.lag.p95Seconds)}</b> <span class="muted">over ${o.lag.count} succeeded</span></div></div>
<div class="card" id="oldest"><div class="label">Oldest open task</div>${
    oldest
      ? html`<div class="big">${duration((now - Date.parse(oldest.task.createdAt)) / 1000)}</div><div><a href="${taskHref(oldest.task.id)}">${shortId(oldest.task.id)}</a> ${state(oldest.task.state)} <code>${oldest.image}</code></div>`
      : html`<div class="big ok">none</div>`
  }</div>
<div class="card" id="sweep"><div class="label">Last sweep</div>${
    d.lastSweep
      ? html`<div class="big">${duration((now - Date.parse(d.lastSweep.completedAt)) / 1000)} ago</div><div class="muted">${d.lastSweep.durationMs} ms, ${d.lastSweep.cloudCalls} cloud calls${d.lastSweep.leftover ? ', work left over' : ''}</div>`
      : html`<div class="big muted">never</div>`
  }</div>
</section>
<h2>Failing tasks</h2>
${
  o.failing.length === 0
    ? html`<p class="ok">Nothing is failing.</p>`
    : html`<table id="failing"><thead><tr><th>Task</th><th>Image → target</th><th>Rule</th><th>State</th><th>Reason (code, request id)</th><th class="num">Attempts</th><th>When</th></tr></thead><tbody>
${o.failing.map(
  (f) => html`<tr><td><a href="${taskHref(f.task.id)}">${shortId(f.task.id)}</a></td><td><code>${f.image}</code><br>→ <code>${f.task.targetKey}</code></td><td>${f.task.rule ?? '—'}</td>
<td>${f.task.state === 'pending' ? state('retrying') : state(f.task.state)}</td><td>${errorOf(f.task.lastError)}</td><td class="num">${f.task.attempts}</td><td>${time(f.task.updatedAt, now)}</td></tr>`,
)}</tbody></table>`
}
<h2>Rules</h2>
<table id="rules"><thead><tr><th>Rule</th><th>Health</th><th class="num">Succeeded</th><th class="num">Failed</th><th class="num">Open</th><th class="num">Retrying</th><th class="num">Canceled</th><th>Last failure</th></tr></thead><tbody>
${rules.map(
  (x) => html`<tr data-rule="${x.rule}"><td>${x.rule || html`<span class="muted">(no rule)</span>`}</td><td>${state(health(x))}</td><td class="num">${x.succeeded}</td><td class="num">${x.failed}</td>
<td class="num">${x.open}</td><td class="num">${x.retrying}</td><td class="num">${x.canceled}</td><td>${time(x.lastFailureAt, now)}</td></tr>`,
)}</tbody></table>
<h2>Latest replications</h2>
${
  d.recent.length === 0
    ? html`<p class="muted">No replication yet.</p>`
    : html`<table id="recent"><thead><tr><th>Replication</th><th>Source image</th><th>State</th><th>Received</th></tr></thead><tbody>
${d.recent.map((x) => html`<tr><td><a href="${replicationHref(x.id)}">${shortId(x.id)}</a></td><td><code>${imageName(x)}</code></td><td>${state(x.state)}</td><td>${time(x.receivedAt, now)}</td></tr>`)}
</tbody></table>`
}`;
}
