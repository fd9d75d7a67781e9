/**
 * Backfill against the local cloud: 1,000 tags, some already at the target; a dry run creates nothing;
 * a backfill killed mid-way (SIGKILL, in a child process) and run again finishes without a duplicate.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureAccountLimiters } from '../shared/clients/transport.ts';
import { checkBackfill } from '../shared/backfill/request.ts';
import { runBackfill } from '../shared/backfill/run.ts';
import { backfillRules, bigSeed, DST, digestOf, TAGS } from './helpers/backfill-fixture.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { until } from './helpers/until.ts';

const PG = process.env.FERRY_TEST_DATABASE_URL ?? 'postgres://ferry:ferry@127.0.0.1:5432/ferry_conv_backfill';
const THERE = 100;
const DIFFERENT = 10;

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
/** The walk's caps are the limiter's (20 calls/s): here they would only make the test slow. */
const fast = () => configureAccountLimiters({ maxConcurrent: 8, ratePerSecond: 5000, burst: 5000 });

/** Places tags at the target: the first THERE with the source's digest, the next DIFFERENT with another. */
async function prePlace(s: TestStack) {
  for (let i = 0; i < THERE + DIFFERENT; i++) {
    await s.cloud.services.alibaba.acr.push({ instanceId: DST, namespace: 'team', repo: 'big', tag: `v${i}`, digest: i < THERE ? digestOf(i) : digestOf(5000 + i) });
  }
}

const count = async (s: TestStack, table: string) => Number((await s.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

function plan(s: TestStack, dryRun = false) {
  const c = checkBackfill({ dryRun }, s.config, s.clock.now());
  if (!c.ok) throw new Error(c.message);
  return c.plan;
}

describe('backfill of a source with 1,000 tags', () => {
  it('dry run creates nothing; the run creates exactly the missing tasks and skips the rest; a second run creates none', async () => {
    stack = await startTestStack({ cloud: { seed: bigSeed() }, config: backfillRules });
    fast();
    await prePlace(stack!);
    const dry = await runBackfill(stack!.deps, plan(stack, true), { owner: 't', hasTime: () => true });
    expect(dry.done).toBe(true);
    expect(dry.summary).toMatchObject({ repositories: 1, found: TAGS, alreadyThere: THERE, created: TAGS - THERE, refused: 0, errors: 0 });
    for (const table of ['tasks', 'replications', 'walk_cursors']) expect(await count(stack, table)).toBe(0);
    expect(stack!.cloud.acr.createCallCount()).toBe(0);

    const r = await runBackfill(stack!.deps, plan(stack), { owner: 't', hasTime: () => true });
    expect(r.summary).toMatchObject({ found: TAGS, alreadyThere: THERE, created: TAGS - THERE, inLedger: 0, refused: 0 });
    expect(await count(stack, 'tasks')).toBe(TAGS - THERE);
    expect(await count(stack, 'replications')).toBe(TAGS - THERE);
    // The different ones are among them: the target holds another image under that tag.
    const tags = (await stack!.db.query<{ tag: string }>(`SELECT target->'from'->>'tag' AS tag FROM tasks`)).rows.map((t) => t.tag);
    expect(tags).toContain(`v${THERE}`);
    expect(tags).not.toContain('v0');
    expect(stack!.cloud.acr.createCallCount()).toBe(0);

    const again = await runBackfill(stack!.deps, plan(stack), { owner: 't', hasTime: () => true });
    expect(again.summary).toMatchObject({ created: 0, inLedger: TAGS - THERE, alreadyThere: THERE });
    expect(await count(stack, 'tasks')).toBe(TAGS - THERE);
  }, 120_000);

  it('a slice out of time stops, and the next call resumes from the cursor', async () => {
    stack = await startTestStack({ cloud: { seed: bigSeed() }, config: backfillRules });
    fast();
    let chunks = 0;
    const first = await runBackfill(stack!.deps, plan(stack), { owner: 't', hasTime: () => chunks++ < 4 });
    expect(first.done).toBe(false);
    const made = await count(stack, 'tasks');
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(TAGS);
    const rest = await runBackfill(stack!.deps, plan(stack), { owner: 't', hasTime: () => true });
    expect(rest.done).toBe(true);
    expect(rest.summary).toMatchObject({ found: TAGS, created: TAGS });
    expect(await count(stack, 'tasks')).toBe(TAGS);
  }, 120_000);

  it('refuses unknown rules, bad repositories and dates, naming the field', () => {
    const config = { rules: [{ name: 'big' }] } as never;
    expect(checkBackfill({ rule: 'nope' }, config, 0)).toMatchObject({ ok: false, field: 'rule' });
    expect(checkBackfill({ repository: 'noslash' }, config, 0)).toMatchObject({ ok: false, field: 'repository' });
    expect(checkBackfill({ since: 'yesterday' }, config, 0)).toMatchObject({ ok: false, field: 'since' });
    expect(checkBackfill({ since: '2h' }, config, 10_000_000)).toMatchObject({ ok: true, plan: { since: 10_000_000 - 7_200_000 } });
  });
});

describe('a backfill killed mid-way', () => {
  const schema = `ferry_bf_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG });
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  const child = () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/backfill-child.ts', stack!.cloud.url, PG, schema], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    return { p, exited, out: () => out };
  };

  it('resumes when run again: no duplicate, and it finishes', async () => {
    stack = await startTestStack({ cloud: { seed: bigSeed() }, config: backfillRules, databaseUrl: PG, searchPath: schema });
    await prePlace(stack!);
    // Each target check takes a while: the kill lands mid-walk.
    stack!.cloud.faults.add({ op: 'acr:GetRepoTag', latencyMs: 15 });
    const first = child();
    await until('the first chunks recorded', async () => (await count(stack!, 'tasks')) >= 100, 60_000);
    first.p.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const before = await count(stack, 'tasks');
    expect(before).toBeLessThan(TAGS - THERE);
    const cursor = (await stack!.db.query<{ tag_after: string | null }>('SELECT tag_after FROM walk_cursors')).rows[0];
    expect(cursor?.tag_after).toBeTruthy();

    const second = child();
    expect(await second.exited).toBe(0);
    const summary = JSON.parse(/@@result (.*)/.exec(second.out())![1]!) as Record<string, number>;
    expect(summary).toMatchObject({ found: TAGS, refused: 0, errors: 0 });
    expect(await count(stack, 'tasks')).toBe(TAGS - THERE);
    const dupes = await stack!.db.query('SELECT target_key FROM tasks GROUP BY target_key HAVING count(*) > 1');
    expect(dupes.rows).toHaveLength(0);
    expect(stack!.cloud.acr.createCallCount()).toBe(0);
  }, 180_000);
});
