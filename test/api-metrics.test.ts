/** GET /metrics and /healthz over real HTTP and a real ledger: exact values, text format, auth, a stale sweep. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrTask, startApiStack, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';

let s: ApiStack;
let webhook: NodeServer;
beforeAll(async () => {
  // Virtual time all but stands still, so ages and lag are exact.
  s = await startApiStack({ cloud: { speed: 1e-9 } });
  webhook = await serveNode(createWebhookApp(s.deps));
});
afterAll(async () => {
  await webhook?.close();
  await s?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the text exposition format 0.0.4: every sample belongs to a family declared by HELP and TYPE before it. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelRe = new RegExp(`^(${name})\\{(.*)\\}$`);
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) ((?:[^\\\n]|\\\\|\\n)*)$/.exec(line);
    if (m) {
      expect(helps.has(m[1]!), `one HELP for ${m[1]}`).toBe(false);
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      expect(types.has(m[1]!)).toBe(false);
      types.set(m[1]!, m[2]!);
      continue;
    }
    const sp = line.lastIndexOf(' ');
    expect(sp, line).toBeGreaterThan(0);
    const [series, raw] = [line.slice(0, sp), line.slice(sp + 1)];
    expect(raw, line).toMatch(/^(?:[+-]?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+)|[+-]Inf|NaN)$/i);
    const labels: Record<string, string> = {};
    let metric = series;
    const lm = labelRe.exec(series);
    if (lm) {
      metric = lm[1]!;
      const pairs = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
      let rest = lm[2]!;
      while (rest.length) {
        pairs.lastIndex = 0;
        const p = pairs.exec(rest);
        expect(p, `labels of ${line}`).not.toBeNull();
        labels[p![1]!] = p![2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        rest = rest.slice(p![0].length);
      }
    } else expect(series, line).toMatch(new RegExp(`^${name}$`));
    const family = types.has(metric) ? metric : metric.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(family), `TYPE before ${line}`).toBe(true);
    expect(helps.has(family), `HELP before ${line}`).toBe(true);
    samples.push({ name: metric, labels, value: raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw) });
  }
  return { types, samples };
}

async function metrics(token: string | null = TEST_TOKENS.read) {
  const r = await s.call('GET', '/metrics', { token });
  return { status: r.status, type: r.headers.get('content-type'), text: String(r.body) };
}

describe('GET /metrics', () => {
  it('a succeeding and a failing replication, a sweep and webhook deliveries: exact lines, a valid text format', async () => {
    // Succeeds 45 s after its push was received.
    const ok = await acrTask(s, { cloud: 'none' });
    s.cloud.clock.advance(45_000);
    await s.ledger.transition(ok.id, { from: 'pending', to: 'submitted', reason: 'submitted', actor: 'test', patch: { cloudRef: 'rsync-ok' } });
    await s.ledger.transition(ok.id, { from: 'submitted', to: 'succeeded', reason: 'copied', actor: 'test' });
    // Fails with the cloud's code.
    const bad = await acrTask(s, { cloud: 'none' });
    await s.ledger.transition(bad.id, {
      from: 'pending',
      to: 'failed',
      reason: 'cloud refused',
      actor: 'test',
      patch: { lastError: { code: 'REPO_NOT_EXIST', message: 'no such repository', requestId: 'req-1' } },
    });
    // Still open, 30 s old when read.
    await acrTask(s, { cloud: 'none' });
    const sweep = await runSweep(s.deps);
    // Two deliveries refused: a wrong token and an unknown kind.
    expect((await fetch(`${webhook.url}/webhooks/acr`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-000000' }, body: '{}' })).status).toBe(401);
    expect((await fetch(`${webhook.url}/webhooks/nope`, { method: 'POST', body: '{}' })).status).toBe(404);
    s.cloud.clock.advance(30_000);

    const m = await metrics();
    expect(m.status).toBe(200);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = m.text.split('\n');
    // The open task stays pending: the sweep leaves it to the webhook during its grace period.
    expect(lines).toEqual(
      expect.arrayContaining([
        '# HELP ferry_tasks Tasks in the ledger by state, provider and rule (finished ones until retention prunes them).',
        '# TYPE ferry_tasks gauge',
        'ferry_tasks{state="failed",provider="acr",rule="releases"} 1',
        'ferry_tasks{state="pending",provider="acr",rule="releases"} 1',
        'ferry_tasks{state="succeeded",provider="acr",rule="releases"} 1',
        '# TYPE ferry_replication_lag_seconds histogram',
        'ferry_replication_lag_seconds_bucket{le="10"} 0',
        'ferry_replication_lag_seconds_bucket{le="30"} 0',
        'ferry_replication_lag_seconds_bucket{le="60"} 1',
        'ferry_replication_lag_seconds_bucket{le="21600"} 1',
        'ferry_replication_lag_seconds_bucket{le="+Inf"} 1',
        'ferry_replication_lag_seconds_sum 45',
        'ferry_replication_lag_seconds_count 1',
        'ferry_oldest_open_task_age_seconds 30',
        '# TYPE ferry_task_failures_total counter',
        'ferry_task_failures_total{code="REPO_NOT_EXIST"} 1',
        `ferry_sweep_last_duration_seconds ${sweep.durationMs / 1000}`,
        `ferry_sweep_last_cloud_calls ${sweep.cloudCallsTotal}`,
        'ferry_sweep_last_leftover 0',
        `ferry_sweep_last_completed_timestamp_seconds ${(s.clock.now() - 30_000) / 1000}`,
        'ferry_webhook_deliveries_total{kind="acr",outcome="refused"} 1',
        'ferry_webhook_deliveries_total{kind="unknown",outcome="refused"} 1',
        'ferry_drift_found_total 0',
        'ferry_drift_repaired_total 0',
      ]),
    );
    expect(lines.filter((l) => l.startsWith('ferry_tasks{'))).toHaveLength(3);

    const { types, samples } = parseExposition(m.text);
    expect(Object.fromEntries(types)).toEqual({
      ferry_tasks: 'gauge',
      ferry_replication_lag_seconds: 'histogram',
      ferry_oldest_open_task_age_seconds: 'gauge',
      ferry_task_failures_total: 'counter',
      ferry_sweep_last_duration_seconds: 'gauge',
      ferry_sweep_last_cloud_calls: 'gauge',
      ferry_sweep_last_leftover: 'gauge',
      ferry_sweep_last_completed_timestamp_seconds: 'gauge',
      ferry_webhook_deliveries_total: 'counter',
      ferry_drift_found_total: 'counter',
      ferry_drift_repaired_total: 'counter',
    });
    // Histogram buckets are cumulative and end at +Inf = _count.
    const buckets = samples.filter((x) => x.name === 'ferry_replication_lag_seconds_bucket');
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
    expect(buckets.at(-1)).toEqual({ name: 'ferry_replication_lag_seconds_bucket', labels: { le: '+Inf' }, value: 1 });

    // Every instance reports the same numbers: a second API over the same ledger.
    const again = await metrics(TEST_TOKENS.admin);
    expect(again.text).toBe(m.text);
  });

  it('label values are escaped', async () => {
    const t = await acrTask(s, { cloud: 'none' });
    await s.ledger.transition(t.id, { from: 'pending', to: 'failed', reason: 'odd', actor: 'test', patch: { lastError: { code: 'Odd"code\\with\nnewline', message: 'm' } } });
    const m = await metrics();
    expect(m.text).toContain('ferry_task_failures_total{code="Odd\\"code\\\\with\\nnewline"} 1\n');
    const { samples } = parseExposition(m.text);
    expect(samples.find((x) => x.name === 'ferry_task_failures_total' && x.labels.code?.startsWith('Odd'))?.labels.code).toBe('Odd"code\\with\nnewline');
  });

  it('a read token may read it; no token or a wrong one → 401', async () => {
    expect((await metrics(TEST_TOKENS.read)).status).toBe(200);
    const none = await s.call('GET', '/metrics', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await s.call('GET', '/metrics', { token: 'nope-nope-nope' })).status).toBe(401);
    expect((await s.call('POST', '/metrics')).status).toBe(405);
  });

  it('is in /openapi.json with /healthz', async () => {
    const doc = (await s.call('GET', '/openapi.json', { token: null })).body;
    expect(doc.paths['/metrics'].get.operationId).toBe('metrics');
    expect(doc.paths['/healthz'].get.responses['503']).toBeDefined();
  });
});

describe('GET /healthz', () => {
  it('reports the schema version and the last sweep; stale after sweep.staleAfterSeconds → 503, a new sweep → 200', async () => {
    await runSweep(s.deps);
    const fresh = await s.call('GET', '/healthz', { token: null });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ ok: true, schemaVersion: 11, sweep: { lastCompletedAt: new Date(s.clock.now()).toISOString(), ageSeconds: 0, staleAfterSeconds: 600, stale: false } });

    s.cloud.clock.advance(601_000);
    const stale = await s.call('GET', '/healthz', { token: null });
    expect(stale.status).toBe(503);
    expect(stale.body).toMatchObject({ ok: false, schemaVersion: 11, sweep: { ageSeconds: 601, stale: true }, error: expect.stringContaining('601 s ago') });

    await runSweep(s.deps);
    expect((await s.call('GET', '/healthz', { token: null })).status).toBe(200);
  });
});
