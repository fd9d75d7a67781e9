/**
 * The CLI and API paper cuts a new user ran into (issue 18), each through the real API and the real
 * CLI: state spellings, `namespace/repository`, `--since` durations and dates, the paging hint keeping
 * the filters, EPIPE, `cancel --acr` help, `ferry sweep` without FERRY_MODE, `config check
 * --structure-only`, `GET /replications` / `ferry replications`, the OpenAPI document, one spelling.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvFile } from '../local/stack/env.ts';
import { main } from '../shared/cli/main.ts';
import type { TaskRow } from '../shared/ledger/index.ts';
import { acrTask, startApiStack, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ferry.js');

let s: ApiStack;
let tasks: TaskRow[];
const dirs: string[] = [];
beforeAll(async () => {
  s = await startApiStack();
  tasks = [];
  for (let i = 0; i < 3; i++) tasks.push(await acrTask(s, { cloud: 'none' }));
});
afterAll(async () => {
  await s?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ferry-paper-cuts-'));
  dirs.push(d);
  return d;
}

async function ferry(args: string[], env: Record<string, string | undefined> = { FERRY_API_TOKEN: TEST_TOKENS.admin }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { env, io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
  return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
}

const api = (args: string[]) => ferry([...args, '--url', s.api.url]);

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FERRY_') && k !== 'DATABASE_URL') env[k] = v;
  return env;
}

const ids = (body: { items: Array<{ id: string }> }) => body.items.map((t) => t.id);

describe('--state', () => {
  it('"cancelled" is read as "canceled"; an unknown state is a 400 naming query.state and listing the valid ones', async () => {
    const [british, american, done] = await Promise.all([s.call('GET', '/tasks?state=cancelled'), s.call('GET', '/tasks?state=canceled'), s.call('GET', '/tasks?state=done')]);
    expect(british.status).toBe(200);
    expect(british.body).toEqual(american.body);
    expect(done.status).toBe(400);
    expect(done.body.error.field).toBe('query.state');
    expect(done.body.error.message).toBe('query.state: must be one or more of pending, submitted, running, succeeded, failed, canceled, timed_out (comma-separated); "done" is not one');

    const [cli, bad, reps] = await Promise.all([api(['tasks', '--state', 'cancelled,pending', '--json']), api(['tasks', '--state', 'done']), s.call('GET', '/replications?state=finished')]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(ids(JSON.parse(cli.stdout))).toEqual(expect.arrayContaining(tasks.map((t) => t.id)));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HTTP 400 InvalidRequest: query.state: must be one or more of pending, submitted, running, succeeded, failed, canceled, timed_out');
    expect(bad.stderr).toContain('field: query.state');
    expect(reps.status).toBe(400);
    expect(reps.body.error.message).toContain('must be one or more of pending, in_progress, succeeded, partially_failed, failed, canceled');
  });
});

describe('--repository namespace/repository and --namespace', () => {
  it('filters by the image the tasks come from; a contradicting namespace is a 400 naming it', async () => {
    const [both, nsOnly, repoOnly, other, contradict, empty] = await Promise.all([
      s.call('GET', '/tasks?repository=team/app'),
      s.call('GET', '/tasks?namespace=team'),
      s.call('GET', '/tasks?repository=app'),
      s.call('GET', '/tasks?repository=prod/app'),
      s.call('GET', '/tasks?namespace=prod&repository=team/app'),
      s.call('GET', '/tasks?repository=team/'),
    ]);
    for (const r of [both, nsOnly, repoOnly]) expect(ids(r.body).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(other.body.items).toEqual([]);
    expect(contradict.status).toBe(400);
    expect(contradict.body.error.field).toBe('query.namespace');
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toBe('query.repository');

    const [cli, cliNs, cliOther] = await Promise.all([
      api(['tasks', '--repository', 'team/app', '--json']),
      api(['tasks', '--namespace', 'team', '--json']),
      api(['tasks', '--namespace', 'prod', '--repository', 'app']),
    ]);
    expect(ids(JSON.parse(cli.stdout)).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(ids(JSON.parse(cliNs.stdout)).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(cliOther.code).toBe(0);
    expect(cliOther.stdout.trim()).toBe('(none)');
  });
});

describe('--since', () => {
  it('takes durations, dates and ISO times; anything else is a 400 saying which forms', async () => {
    const today = new Date(s.clock.now()).toISOString().slice(0, 10);
    const tomorrow = new Date(s.clock.now() + 86_400_000).toISOString().slice(0, 10);
    const [hour, day, iso, future, bad, badDate] = await Promise.all([
      s.call('GET', '/tasks?since=1h'),
      s.call('GET', `/tasks?since=${today}`),
      s.call('GET', `/tasks?since=${encodeURIComponent(new Date(s.clock.now() - 60_000).toISOString())}`),
      s.call('GET', `/tasks?since=${tomorrow}`),
      s.call('GET', '/tasks?since=yesterday'),
      s.call('GET', '/tasks?since=2026-02-30'),
    ]);
    for (const r of [hour, day, iso]) expect(ids(r.body)).toEqual(expect.arrayContaining(tasks.map((t) => t.id)));
    expect(future.body.items).toEqual([]);
    for (const r of [bad, badDate]) {
      expect(r.status).toBe(400);
      expect(r.body.error.field).toBe('query.since');
      expect(r.body.error.message).toContain('must be an ISO-8601 time like 2025-01-31T12:00:00Z, a date like 2025-01-31 (UTC midnight) or a duration back from now like 90m, 2h, 7d');
    }
    const [cliHour, cliDate, cliBad] = await Promise.all([api(['tasks', '--since', '1h', '--json']), api(['tasks', '--since', today, '--json']), api(['tasks', '--since', 'soon'])]);
    expect(ids(JSON.parse(cliHour.stdout))).toEqual(expect.arrayContaining(tasks.map((t) => t.id)));
    expect(ids(JSON.parse(cliDate.stdout))).toEqual(expect.arrayContaining(tasks.map((t) => t.id)));
    expect(cliBad.code).toBe(1);
    expect(cliBad.stderr).toContain('field: query.since');
  });
});

describe('paging', () => {
  it('the "more:" hint repeats the filters, and following it gives the next page', async () => {
    const first = await api(['tasks', '--repository', 'team/app', '--state', 'pending', '--since', '7d', '--limit', '2']);
    expect(first.code, first.stderr).toBe(0);
    const hint = /^more: (ferry tasks .*)$/m.exec(first.stdout)?.[1];
    expect(hint).toMatch(/^ferry tasks --state pending --repository team\/app --since 7d --limit 2 --cursor \S+$/);
    const second = await api(hint!.split(' ').slice(1));
    expect(second.code, second.stderr).toBe(0);
    const seen = [first.stdout, second.stdout].join('');
    for (const t of tasks) expect(seen).toContain(t.id);
    expect(second.stdout).not.toMatch(/^more:/m);
  });
});

describe('GET /replications and ferry replications', () => {
  it('lists replications newest first with state, namespace/repository and since filters, paged', async () => {
    const all = await s.call('GET', '/replications?repository=team/app&since=1h&state=pending');
    expect(all.status).toBe(200);
    const mine = tasks.map((t) => t.replicationId);
    expect(ids(all.body).sort()).toEqual([...mine].sort());
    expect(all.body.items[0]).toMatchObject({ namespace: 'team', repository: 'app', state: 'pending', action: 'copy' });

    const page1 = await s.call('GET', '/replications?repository=team/app&limit=2');
    expect(page1.body.items).toHaveLength(2);
    const page2 = await s.call('GET', `/replications?repository=team/app&limit=2&cursor=${page1.body.nextCursor}`);
    expect([...ids(page1.body), ...ids(page2.body)].sort()).toEqual([...mine].sort());
    expect(page2.body.nextCursor).toBeNull();

    const [cli, cliPaged, read] = await Promise.all([
      api(['replications', '--namespace', 'team', '--state', 'cancelled,pending']),
      api(['replications', '--repository', 'team/app', '--limit', '1']),
      s.call('GET', '/replications', { token: TEST_TOKENS.read }),
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.split('\n')[0]).toMatch(/^ID\s+ACTION\s+STATE\s+SOURCE\s+IMAGE\s+RULES\s+RECEIVED$/);
    for (const id of mine) expect(cli.stdout).toContain(id);
    expect(cli.stdout).toContain('team/app:');
    expect(cliPaged.stdout).toMatch(/^more: ferry replications --repository team\/app --limit 1 --cursor \S+$/m);
    expect(read.status).toBe(200);
  });
});

describe('/openapi.json', () => {
  it('has GET /replications, the webhook, servers, and the task schema once as a component with a typed target', async () => {
    const r = await fetch(`${s.api.url}/openapi.json`);
    const doc = (await r.json()) as any;
    expect(doc.paths['/replications'].get.operationId).toBe('listReplications');
    expect(doc.paths['/replications'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['state', 'namespace', 'repository', 'since', 'cursor', 'limit']);
    expect(doc.paths['/webhooks/{kind}'].post).toBeDefined();
    expect(doc.servers[0].url).toBe('/');
    const task = doc.components.schemas.Task;
    expect(task.properties.target.required).toEqual(['from', 'to']);
    expect(task.properties.target.properties.from.required).toEqual(['source', 'kind', 'namespace', 'repository']);
    expect(task.properties.target.properties.to.required).toEqual(['provider']);
    expect(doc.components.schemas.TaskList.properties.items.items).toEqual({ $ref: '#/components/schemas/Task' });
    expect(doc.components.schemas.ReplicationList.properties.items.items).toEqual({ $ref: '#/components/schemas/ReplicationRecord' });
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if (name !== 'Task') expect(JSON.stringify(schema), name).not.toContain('"idempotencyKey"');
    }
    expect(JSON.stringify(doc.paths['/tasks'].get.parameters)).toContain('namespace/repository');
  });
});

describe('bin/ferry.js', () => {
  it('`ferry tasks --json | head -1` exits 0 without a stack trace', async () => {
    for (let i = 0; i < 60; i++) await acrTask(s, { cloud: 'none' });
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        'bash',
        ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" tasks --json --limit 500 --url "${s.api.url}" | head -1`],
        { cwd: ROOT, env: { ...cleanEnv(), FERRY_API_TOKEN: TEST_TOKENS.admin }, timeout: 20_000 },
        (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr }),
      );
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n');
  });
});

describe('help and wording', () => {
  it('cancel --acr says it wants the SOURCE instance', async () => {
    const [help, top] = await Promise.all([ferry(['cancel', '--help']), ferry(['--help'])]);
    expect(help.stdout).toContain('ferry cancel --acr <source-instance-id> <rst-id>');
    expect(help.stdout).toMatch(/lives on the SOURCE instance \(the one pushed to\), not the target/);
    expect(top.stdout).toContain('cancel --acr <source-instance> <rst-id>');
    expect(top.stdout).toMatch(/replications\s+list replications/);
  });

  it('says "canceled" everywhere: README, CLI help and output', async () => {
    // The one mention allowed: the API reads `cancelled` as `canceled`.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace('(`cancelled` is read as `canceled`', '');
    expect(readme.match(/cancell(ed|ing|able)/gi) ?? []).toEqual([]);
    const cli = readFileSync(join(ROOT, 'shared', 'cli', 'main.ts'), 'utf8');
    expect(cli.match(/cancell(ed|ing|able)/gi) ?? []).toEqual([]);
  });
});

describe('local commands', () => {
  it('ferry sweep needs no FERRY_MODE: without DATABASE_URL it opens <FERRY_DATA_DIR>/ledger, the ledger npm start uses', async () => {
    const data = tmp();
    const env: Record<string, string | undefined> = { ...readEnvFile(join(ROOT, 'examples', 'local.env')), FERRY_LOCAL_CLOUD_URL: s.cloud.url, FERRY_DATA_DIR: data, FERRY_LOG_LEVEL: 'error' };
    delete env.FERRY_MODE;
    delete env.DATABASE_URL;
    const r = await ferry(['sweep', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(data, 'ledger'))).toBe(true);
    const help = await ferry(['sweep', '--help']);
    expect(help.stdout).toContain('<FERRY_DATA_DIR or store.dataDir>/ledger (default .ferry/ledger)');
  });

  it('config check --structure-only checks the file with no secret set, naming what a full check needs', async () => {
    const empty = {};
    const [structure, full, json] = await Promise.all([
      ferry(['config', 'check', 'examples/ferry.config.yaml', '--structure-only'], empty),
      ferry(['config', 'check', 'examples/ferry.config.yaml'], empty),
      ferry(['config', 'check', 'examples/ferry.config.yaml', '--structure-only', '--json'], empty),
    ]);
    expect(structure.code, structure.stderr).toBe(0);
    expect(structure.stdout).toMatch(/config .*ferry\.config\.yaml structure is valid: \d+ source\(s\), \d+ rule\(s\)/);
    expect(structure.stdout).toContain('FERRY_API_TOKEN');
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('environment variable FERRY_API_TOKEN is not set');
    const summary = JSON.parse(json.stdout);
    expect(summary).toMatchObject({ ok: true, structureOnly: true });
    expect(summary.variables).toEqual(expect.arrayContaining(['FERRY_API_TOKEN', 'FERRY_WEBHOOK_TOKEN']));

    // Structure problems are still problems; so is an inline secret.
    const bad = join(tmp(), 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(join(ROOT, 'examples', 'ferry.config.yaml'), 'utf8')
        .replace('token: ${FERRY_API_TOKEN}', 'token: inline-S3CRET-0001')
        .replace(/^rules:/m, 'rulez:'),
    );
    const badRun = await ferry(['config', 'check', bad, '--structure-only'], empty);
    expect(badRun.code).toBe(1);
    expect(badRun.stderr).toMatch(/rulez/);
    expect(badRun.stderr).toMatch(/not an inline secret/);
    expect(badRun.stderr).not.toContain('S3CRET');
  });
});

describe('ferry --help without the TypeScript loader', () => {
  const compiled = join(ROOT, '.cache', 'cli-help.mjs');
  const bin = (args: string[]) =>
    new Promise<{ code: number; stdout: string; ms: number }>((done) => {
      const start = performance.now();
      execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(), timeout: 20_000 }, (err, stdout) =>
        done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, ms: performance.now() - start }),
      );
    });
  const build = () => new Promise<void>((done, fail) => execFile(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--quiet'], { cwd: ROOT }, (err) => (err ? fail(err) : done())));

  afterAll(build);

  it('answers from the copy npm ci precompiled, in well under a second; a stale or missing copy takes the ordinary path', async () => {
    const { GLOBAL_HELP, HELP } = await import('../shared/cli/help.ts');
    await build();
    const fast = await bin(['--help']);
    expect(fast.code).toBe(0);
    expect(fast.stdout).toBe(`${GLOBAL_HELP}\n`);
    expect(fast.ms).toBeLessThan(1000);
    expect((await bin(['cancel', '--help'])).stdout).toBe(`${HELP.cancel}\n`);

    // The copy is what answers (a marker in its place is printed) …
    writeFileSync(compiled, 'export const GLOBAL_HELP = "help from .cache"; export const HELP = {};\n');
    expect((await bin(['--help'])).stdout).toBe('help from .cache\n');
    // … an unknown command still goes to main.ts (exit 2) …
    expect((await bin(['launch', '--help'])).code).toBe(2);
    // … and a copy older than help.ts is not used.
    const past = new Date(Date.now() - 86_400_000 * 365 * 20);
    utimesSync(compiled, past, past);
    expect((await bin(['--help'])).stdout).toBe(`${GLOBAL_HELP}\n`);
    rmSync(compiled);
    expect((await bin(['--help'])).stdout).toBe(`${GLOBAL_HELP}\n`);
  });
});
