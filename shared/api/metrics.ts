/**
 * `GET /metrics` (read token): the Prometheus text exposition format 0.0.4, computed from the ledger
 * (LedgerMetrics.snapshot: a few aggregate queries), so every function instance reports the same numbers.
 * `GET /healthz` (no token): ledger reachability, the schema version, and the age of the last completed
 * sweep; older than config.sweep.staleAfterSeconds → 503.
 */
import type { Hono } from 'hono';
import type { Health, LastSweep, MetricsSnapshot } from '../ledger/index.ts';
import type { Deps } from '../replicate/deps.ts';
import type { Env } from './request.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Replication lag histogram bounds, seconds: 10 s … 6 h. */
export const LAG_BUCKETS = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600] as const;
export const LAG_WINDOW_MS = 24 * 3600 * 1000;

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  samples: Array<{ suffix?: string; labels?: Labels; value: number }>;
}

export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function labelText(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
}

export function render(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ''}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

const secondsOf = (iso: string) => Date.parse(iso) / 1000;

/** The metric families of a snapshot, in a fixed order; a family with no data still has its HELP and TYPE. */
export function families(m: MetricsSnapshot): Family[] {
  const counter = (name: string) => m.counters.filter((c) => c.name === name);
  const total = (name: string) => counter(name).reduce((n, c) => n + c.value, 0);
  const sweep: LastSweep | null = m.lastSweep;
  const lastSweepSample = (v: (s: LastSweep) => number) => (sweep ? [{ value: v(sweep) }] : []);
  return [
    {
      name: 'ferry_tasks',
      type: 'gauge',
      help: 'Tasks in the ledger by state, provider and rule (finished ones until retention prunes them).',
      samples: m.tasks.map((t) => ({ labels: { state: t.state, provider: t.provider, rule: t.rule }, value: t.count })),
    },
    {
      name: 'ferry_replication_lag_seconds',
      type: 'histogram',
      help: 'Push received to all targets succeeded, over replications that succeeded in the last 24 hours.',
      samples: [
        ...m.lag.buckets.map((b) => ({ suffix: '_bucket', labels: { le: formatValue(b.le) }, value: b.count })),
        { suffix: '_bucket', labels: { le: '+Inf' }, value: m.lag.count },
        { suffix: '_sum', value: m.lag.sumSeconds },
        { suffix: '_count', value: m.lag.count },
      ],
    },
    {
      name: 'ferry_oldest_open_task_age_seconds',
      type: 'gauge',
      help: 'Age of the oldest pending, submitted or running task (0 when none is open).',
      samples: [{ value: m.oldestOpenTaskAgeSeconds }],
    },
    {
      name: 'ferry_task_failures_total',
      type: 'counter',
      help: "Transitions of tasks to failed in the ledger's history, by the cloud's or Ferry's error code.",
      samples: m.failures.map((f) => ({ labels: { code: f.code }, value: f.count })),
    },
    {
      name: 'ferry_sweep_last_duration_seconds',
      type: 'gauge',
      help: 'Wall time of the last completed sweep.',
      samples: lastSweepSample((s) => s.durationMs / 1000),
    },
    {
      name: 'ferry_sweep_last_cloud_calls',
      type: 'gauge',
      help: 'Cloud API requests the last completed sweep sent (retries included).',
      samples: lastSweepSample((s) => s.cloudCalls),
    },
    {
      name: 'ferry_sweep_last_leftover',
      type: 'gauge',
      help: '1 when the last completed sweep ran out of budget before every phase finished, else 0.',
      samples: lastSweepSample((s) => (s.leftover ? 1 : 0)),
    },
    {
      name: 'ferry_sweep_last_completed_timestamp_seconds',
      type: 'gauge',
      help: 'When the last sweep completed, in Unix seconds.',
      samples: lastSweepSample((s) => secondsOf(s.completedAt)),
    },
    {
      name: 'ferry_webhook_deliveries_total',
      type: 'counter',
      help: 'Webhook deliveries by kind and outcome (accepted: work recorded; ignored: nothing to do; refused: 4xx; error: 5xx).',
      samples: counter('webhook_deliveries').map((c) => ({ labels: { kind: c.labels.kind ?? '', outcome: c.labels.outcome ?? '' }, value: c.value })),
    },
    {
      name: 'ferry_drift_found_total',
      type: 'counter',
      help: "Images the sweep's drift audit found missing or different at a target.",
      samples: [{ value: total('drift_found') }],
    },
    {
      name: 'ferry_drift_repaired_total',
      type: 'counter',
      help: 'Drift the audit repaired by creating or re-opening a task.',
      samples: [{ value: total('drift_repaired') }],
    },
  ];
}

export interface HealthAnswer extends Health {
  sweep: { lastCompletedAt: string | null; ageSeconds: number | null; staleAfterSeconds: number; stale: boolean };
}

/** Ledger health plus the last sweep's age; never-swept is not stale (a fresh install), older than the limit is. */
export async function healthOf(deps: Deps): Promise<HealthAnswer> {
  const staleAfterSeconds = deps.config.sweep.staleAfterSeconds;
  const h = await deps.ledger.health();
  let last: LastSweep | null = null;
  if (h.ok) {
    try {
      last = await deps.ledger.metrics.lastSweep();
    } catch (err) {
      return { ...h, ok: false, error: err instanceof Error ? err.message : String(err), sweep: { lastCompletedAt: null, ageSeconds: null, staleAfterSeconds, stale: false } };
    }
  }
  const ageSeconds = last ? Math.max(0, Math.round((deps.clock.now() - Date.parse(last.completedAt)) / 1000)) : null;
  const stale = ageSeconds !== null && ageSeconds > staleAfterSeconds;
  return {
    ...h,
    ok: h.ok && !stale,
    ...(stale ? { error: `the last sweep completed ${ageSeconds} s ago (stale after ${staleAfterSeconds} s)` } : {}),
    sweep: { lastCompletedAt: last?.completedAt ?? null, ageSeconds, staleAfterSeconds, stale },
  };
}

export function metricsRoutes(app: Hono<Env>, deps: Deps): void {
  app.get('/metrics', async (c) => {
    const snap = await deps.ledger.metrics.snapshot({ lagBuckets: LAG_BUCKETS, lagWindowMs: LAG_WINDOW_MS });
    return c.body(render(families(snap)), 200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
  });
}
