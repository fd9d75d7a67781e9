import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture, ledgerCounts, startWebhook, withRegistries, type WebhookHarness } from './webhook-harness.ts';

/**
 * Random and mutated deliveries: only 2xx/4xx ever, and a task only for a delivery answered 202
 * as a push that matched a rule. The mutations include what the ledger cannot store (NUL, lone
 * surrogates, times outside the years 100–9999, written every way senders write times) and
 * digests that are not digests: refused, never a 5xx.
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
type Op = 'delete' | 'replace' | 'taint';
/** `taint` splices the replacement (a string) into the string at the path, or replaces what is there. */
function mutate(v: unknown, path: Path, op: Op, replacement: unknown): unknown {
  if (op === 'taint') {
    const at = path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), v);
    if (typeof at === 'string' && typeof replacement === 'string') return mutate(v, path, 'replace', at.slice(0, 1) + replacement + at.slice(1));
    return mutate(v, path, 'replace', replacement);
  }
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
/** What the ledger cannot store, and digests that are not digests. */
const unstorable = fc.oneof(
  fc.constantFrom('\u0000', 'v1\u0000', '\ud800', 'a\udc00b', '\udbff\udbff', '\u0000\ud83d'),
  fc.constantFrom('0000-01-01 00:00:00', '0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '+010000-01-01T00:00:00Z', '0099-12-31T23:59:59Z', '275760-09-13 00:00:00'),
  fc.constantFrom(8.64e15, -8.64e15, -1e12, 1e20, -62135596800, 253402300800),
  fc.constantFrom('$(id)', '../etc/passwd', 'not-a-digest', 'sha256:' + 'F'.repeat(64), 'sha512:' + 'f'.repeat(64), 'sha256:' + 'f'.repeat(63), 'sha256:\u0000'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const weird = fc.oneof(fc.jsonValue(), fc.string(), fc.constantFrom('', 'v1.2.3', 'team', 'a|b', '2016-13-45 99:99:99', 1e300, -1, null, 'sha256:' + 'f'.repeat(64)), unstorable);

const mutated = fc.tuple(fc.nat(samples.length - 1), fc.nat(1000), fc.constantFrom<Op>('delete', 'replace', 'taint', 'taint'), weird, fc.nat(2)).map(([i, p, op, replacement, times]) => {
  let v = samples[i]!.value;
  for (let n = 0; n <= times; n++) {
    const all = paths(v);
    v = mutate(v, all[(p + n * 7) % all.length]!, op, replacement);
  }
  return { kind: samples[i]!.kind, body: JSON.stringify(v) };
});
const random = fc.record({
  kind,
  body: fc.oneof(
    fc.json(),
    fc.string(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.jsonValue({ stringUnit: 'binary' }).map((v) => JSON.stringify(v)),
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
  return r;
}

/** check, as a property (fast-check reads a returned value as the verdict). */
const checked = async (...args: Parameters<typeof check>): Promise<void> => {
  await check(...args);
};

describe('fuzz', () => {
  test('mutated realistic deliveries', async () => {
    await fc.assert(fc.asyncProperty(mutated, contentType, ceHeaders, token, query, checked), { numRuns: 500 });
  }, 60_000);

  test('random bodies, headers and kinds', async () => {
    await fc.assert(fc.asyncProperty(random, contentType, ceHeaders, token, query, checked), { numRuns: 500 });
  }, 60_000);

  test('mutated realistic deliveries with values the ledger cannot store, sent as a configured sender would', async () => {
    const tainted = fc.tuple(fc.nat(samples.length - 1), fc.array(fc.tuple(fc.nat(1000), fc.constantFrom<Op>('taint', 'replace'), unstorable), { minLength: 1, maxLength: 3 })).map(([i, edits]) => {
      let v = samples[i]!.value;
      for (const [p, op, replacement] of edits) {
        const all = paths(v);
        v = mutate(v, all[p % all.length]!, op, replacement);
      }
      return { kind: samples[i]!.kind, body: JSON.stringify(v) };
    });
    await fc.assert(
      fc.asyncProperty(tainted, (d) => checked(d, 'application/json', undefined, 'test-webhook-token-0123456789', {})),
      { numRuns: 300 },
    );
  }, 60_000);

  test('every field of every sample, with NUL, a lone surrogate, or a time the ledger cannot store', async () => {
    const refused = new Map<string, number>();
    for (const { kind, value } of samples) {
      for (const path of paths(value)) {
        const leaf = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], value);
        const variants = typeof leaf === 'string' ? ['\u0000', '\udc00', '0000-01-01T00:00:00Z'] : typeof leaf === 'number' ? [8.64e15] : [];
        for (const v of variants) {
          const body = JSON.stringify(mutate(value, path, typeof v === 'string' && v.length === 1 ? 'taint' : 'replace', v));
          const r = await check({ kind, body }, 'application/json', undefined, 'test-webhook-token-0123456789', {});
          if (r.status >= 400) refused.set(r.body.error.code, (refused.get(r.body.error.code) ?? 0) + 1);
        }
      }
    }
    // Sanity: the values did reach the checks (and the refusals name the event, not the server).
    expect(refused.get('InvalidEvent')).toBeGreaterThan(50);
    expect([...refused.keys()].every((c) => c !== 'InternalError')).toBe(true);
  }, 60_000);
});
