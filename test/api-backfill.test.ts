/**
 * `POST /backfill` over real HTTP and `ferry backfill` through the CLI's `main`, on one PostgreSQL
 * ledger (a schema of its own) and the local cloud: slices continue where the last stopped without a
 * duplicate, a dry run creates nothing, bad input names its field, a read token is refused, and the CLI
 * prints a summary or JSON with exit codes 0 (done), 1 (a walk failed), 2 (usage).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../shared/cli/main.ts';
import { configureAccountLimiters } from '../shared/clients/transport.ts';
import { startApiStack, type ApiStack } from './api-helpers.ts';
import { backfillRules, bigSeed, TAGS } from './helpers/backfill-fixture.ts';
import { baseConfig, TEST_ENV, TEST_TOKENS } from './helpers/stack.ts';

const PG = process.env.FERRY_TEST_DATABASE_URL ?? 'postgres://ferry:ferry@127.0.0.1:5432/ferry_conv_audit2';
const schema = `ferry_bfapi_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: PG });
let s: ApiStack;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  s = await startApiStack({ cloud: { seed: bigSeed() }, config: backfillRules, databaseUrl: PG, searchPath: schema });
  // The walk's caps are the limiter's (20 calls/s): here they would only make the test slow.
  configureAccountLimiters({ maxConcurrent: 8, ratePerSecond: 5000, burst: 5000 });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});
beforeEach(() => s.cloud.faults.clear());

const backfill = (body: unknown, token?: string) => s.call('POST', '/backfill', { body, ...(token ? { token } : {}) });
const count = async (table: string) => Number((await s.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

/** Each target check takes a while, so a one-second slice ends mid-walk. */
const slow = () => s.cloud.faults.add({ op: 'acr:GetRepoTag', latencyMs: 10 });

/** Calls with `body` (and the dry run's cursor) until done; the answers. */
async function untilDone(body: Record<string, unknown>) {
  const answers = [];
  let cursor: string | undefined;
  for (let i = 0; i < 30; i++) {
    const r = await backfill({ ...body, ...(cursor ? { cursor } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    answers.push(r.body);
    if (r.body.done) return answers;
    cursor = r.body.cursor;
  }
  throw new Error('backfill never finished');
}

describe('POST /backfill', () => {
  it('a read token is refused; bad input → 400 naming the field; nothing is walked', async () => {
    const denied = await backfill({}, TEST_TOKENS.read);
    expect(denied.status).toBe(403);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ rule: 'nope' }, 'body.rule', /no rule "nope"/],
      [{ repository: 'noslash' }, 'body.repository', /namespace\/repository/],
      [{ since: 'yesterday' }, 'body.since', /neither a date/],
      [{ maxSeconds: 600 }, 'body.maxSeconds', /./],
      [{ dryRun: 'yes' }, 'body.dryRun', /./],
      [{ cursor: 'abc' }, 'body.cursor', /only a dry run/],
      [{ dryRun: true, cursor: 'not-a-cursor' }, 'body.cursor', /not a cursor/],
    ];
    for (const [body, field, message] of cases) {
      const r = await backfill(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
      expect(r.body.error.message).toMatch(message);
    }
    expect(await count('walk_cursors')).toBe(0);
  });

  it('a dry run in slices creates nothing and reports what a run would', async () => {
    slow();
    const answers = await untilDone({ dryRun: true, maxSeconds: 1 });
    expect(answers.length).toBeGreaterThan(1);
    expect(answers[0]).toMatchObject({ dryRun: true, done: false, cursor: expect.any(String) });
    expect(answers.at(-1)).toMatchObject({ done: true, summary: { repositories: 1, found: TAGS, created: TAGS, inLedger: 0, reopened: 0, refused: 0, errors: 0 } });
    for (const table of ['tasks', 'replications', 'walk_cursors']) expect(await count(table)).toBe(0);
  }, 120_000);

  it('a slice out of time answers done: false; the next call continues, and nothing is created twice', async () => {
    slow();
    const first = await backfill({ maxSeconds: 1 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ dryRun: false, done: false, walks: [{ rule: 'big', source: 'acr-hangzhou', status: 'partial' }] });
    expect(first.body.cursor).toBeUndefined();
    const made = await count('tasks');
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(TAGS);

    const rest = await untilDone({ maxSeconds: 1 });
    expect(rest.at(-1)).toMatchObject({ done: true, summary: { found: TAGS, created: TAGS, refused: 0, errors: 0 } });
    expect(await count('tasks')).toBe(TAGS);
    const dupes = await s.db.query('SELECT target_key FROM tasks GROUP BY target_key HAVING count(*) > 1');
    expect(dupes.rows).toHaveLength(0);
  }, 120_000);
});

describe('ferry backfill', () => {
  let env: Record<string, string>;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bf-'));
    const config = join(dir, 'ferry.config.json');
    writeFileSync(config, JSON.stringify(backfillRules(baseConfig(s.cloud.url))));
    env = { ...TEST_ENV, FERRY_CONFIG: config, DATABASE_URL: `${PG}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
  });

  async function ferry(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['backfill', ...args], { env, io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('prints a summary (exit 0) or JSON; the tasks the API made are in the ledger, none is made again', async () => {
    const before = await count('tasks');
    expect(before).toBe(TAGS);
    const r = await ferry([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backfill backfill:[0-9a-f]{16}: done$/m);
    expect(r.stdout).toMatch(/images found\s+1000/);
    expect(r.stdout).toMatch(/in the ledger\s+1000/);
    expect(r.stdout).toMatch(/^created\s+0$/m);

    const dry = await ferry(['--dry-run', '--json', '--repository', 'team/big']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, done: true, summary: { found: TAGS, inLedger: TAGS, created: 0 } });
    expect(await count('tasks')).toBe(before);
  }, 120_000);

  it('exit 2 for a usage error naming the option; exit 1 when a walk fails, naming why', async () => {
    const [rule, since, extra] = await Promise.all([ferry(['--rule', 'nope']), ferry(['--since', 'yesterday']), ferry(['stray'])]);
    expect(rule.code).toBe(2);
    expect(rule.stderr).toMatch(/--rule: no rule "nope"/);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since: /);
    expect(extra.code).toBe(2);

    s.cloud.faults.add({ op: 'acr:ListRepoTag', error: { status: 403, code: 'NoPrivilege' } });
    const failed = await ferry(['--repository', 'team/big', '--since', '7d']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/not finished/);
    expect(failed.stderr).toMatch(/big acr-hangzhou: .*NoPrivilege/);
  }, 60_000);
});
