import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture, ledgerCounts, startWebhook, withRegistries, type WebhookHarness } from './webhook-harness.ts';

/**
 * Random and mutated deliveries: only 2xx/4xx ever, and a task only for a delivery answered 202
 * as a push that matched a rule.
 */
let h: WebhookHarness;
beforeAll(async () => {
  h = await startWebhook({ config: withRegistries });
});
afterAll(() => h?.close());

const FIXTURES: [string, string][] = [
  ['acr', 'acr-trigger.json'],
  ['harbor', 'harbor-push.json'],
  ['harbor', 'harbor-pull.json'],
  ['distribution', 'distribution-mixed.json'],
  ['dockerhub', 'dockerhub.json'],
  ['cloudevents', 'harbor-cloudevent.json'],
  ['cloudevents', 'eventbridge-acr.json'],
];
const samples = FIXTURES.map(([kind, file]) => ({ kind, value: JSON.parse(fixture(file)) as unknown }));

type Path = (string | number)[];
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) paths(c, [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}
function mutate(v: unknown, path: Path, op: 'delete' | 'replace', replacement: unknown): unknown {
  if (!path.length) return op === 'delete' ? {} : replacement;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const [head, ...rest] = path;
  if (!rest.length) {
    if (op === 'delete') Array.isArray(copy) ? copy.splice(head as number, 1) : delete copy[head!];
    else copy[head!] = replacement;
    return copy;
  }
  copy[head!] = mutate(copy[head!], rest, op, replacement);
  return copy;
}

const kind = fc.oneof(fc.constantFrom('acr', 'harbor', 'distribution', 'dockerhub', 'cloudevents'), fc.constantFrom('gitlab', 'ACR', '..%2f', 'x'.repeat(300)));
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/cloudevents+json',
  'application/vnd.docker.distribution.events.v2+json',
  'text/plain',
  '',
  'application/json; charset=latin1',
);
const ceHeaders = fc.option(
  fc.record({
    'ce-specversion': fc.constantFrom('1.0', '', '0.3'),
    'ce-id': fc.string(),
    'ce-source': fc.constantFrom('acs.cr', '/x'),
    'ce-type': fc.constantFrom('cr:Artifact:PushCompleted', 'harbor.artifact.pushed', 'other'),
  }),
  { nil: undefined },
);
const token = fc.constantFrom<string | null>('test-webhook-token-0123456789', 'test-webhook-token-0123456789', null, 'wrong', 'test-webhook-token-012345678');
const query = fc.record(
  {
    instance: fc.option(fc.constantFrom('cri-localsrc001', 'cri-nope0001', ''), { nil: undefined }),
    source: fc.option(fc.constantFrom('acr-hangzhou', 'swr-beijing', 'hub', 'registry', 'nope'), { nil: undefined }),
  },
  { requiredKeys: [] },
);
const weird = fc.oneof(fc.jsonValue(), fc.string(), fc.constantFrom('', 'v1.2.3', 'team', 'a|b', '2016-13-45 99:99:99', 1e300, -1, null, 'sha256:' + 'f'.repeat(64)));

const mutated = fc.tuple(fc.nat(samples.length - 1), fc.nat(1000), fc.constantFrom('delete', 'replace'), weird, fc.nat(2)).map(([i, p, op, replacement, times]) => {
  let v = samples[i]!.value;
  for (let n = 0; n <= times; n++) {
    const all = paths(v);
    v = mutate(v, all[(p + n * 7) % all.length]!, op as 'delete' | 'replace', replacement);
  }
  return { kind: samples[i]!.kind, body: JSON.stringify(v) };
});
const random = fc.record({
  kind,
  body: fc.oneof(
    fc.json(),
    fc.string(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
  ),
});

async function check(d: { kind: string; body: string }, ct: string, ce: Record<string, string> | undefined, tok: string | null, q: Record<string, string | undefined>) {
  const before = await ledgerCounts(h.stack);
  const headers: Record<string, string> = { 'content-type': ct, ...(ce ?? {}) };
  const r = await h.post(d.kind, d.body, { headers, token: tok, query: Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as Record<string, string> });
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(200);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(JSON.stringify(r.body)).not.toContain('test-webhook-token-0123456789');
  const after = await ledgerCounts(h.stack);
  if (r.status !== 202) expect(after).toEqual(before);
  else expect(r.body.matched).toBeGreaterThan(0);
  if (after.tasks > before.tasks) expect(tok).toBe('test-webhook-token-0123456789');
}

describe('fuzz', () => {
  test('mutated realistic deliveries', async () => {
    await fc.assert(fc.asyncProperty(mutated, contentType, ceHeaders, token, query, check), { numRuns: 500 });
  }, 60_000);

  test('random bodies, headers and kinds', async () => {
    await fc.assert(fc.asyncProperty(random, contentType, ceHeaders, token, query, check), { numRuns: 500 });
  }, 60_000);
});
