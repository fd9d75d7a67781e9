// Runs `node scripts/package.mjs` (bundle + offline `serverless package`) and inspects what the
// aliyun plugin compiled. Writes dist/ and .serverless/ in the repo, like `npm run package`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL } from './ledger-fixtures.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

// The real function entries (functions/*.ts). bundle.mjs fails the build on a devDependency or a
// static pglite import anywhere they reach.

type Resource = { Type: string; Properties: Record<string, any> };
let update: { Resources: Record<string, Resource> };
let create: { Resources: Record<string, Resource> };
let zipListing = '';
let emulatorSecrets: string[] = [];
// The example config's variables (examples/local.env) and a PostgreSQL URL: all set, as packaging requires.
const exampleEnv = Object.fromEntries(
  readFileSync(join(ROOT, 'examples/local.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const DATABASE_URL = 'postgres://ferry:pkg-db-secret-Wq4@db.internal:5432/ferry';

beforeAll(async () => {
  const env = {
    ...process.env,
    ...exampleEnv,
    DATABASE_URL,
    FERRY_ALIYUN_CREDENTIALS: join(ROOT, '.no-such-credentials-file'),
    HOME: '/nonexistent-home',
    FERRY_CONFIG: 'examples/ferry.config.yaml',
    FERRY_BUNDLE_METAFILE: '1',
  };
  const { defaultSeed } = await import('../local/cloud/seed.ts');
  const seed = defaultSeed();
  emulatorSecrets = [...seed.alibaba.accounts.flatMap((a) => [a.accessKeyId, a.accessKeySecret]), ...seed.huawei.credentials.flatMap((c) => [c.accessKey, c.secretKey])];
  expect(emulatorSecrets.length).toBeGreaterThan(3);
  await run(process.execPath, ['scripts/package.mjs'], { cwd: ROOT, env, timeout: 120_000 });
  update = JSON.parse(readFileSync(join(ROOT, '.serverless/configuration-template-update.json'), 'utf8'));
  create = JSON.parse(readFileSync(join(ROOT, '.serverless/configuration-template-create.json'), 'utf8'));
  zipListing = readFileSync(join(ROOT, '.serverless/ferry.zip')).toString('latin1');
}, 120_000);

const byType = (t: string) => Object.entries(update.Resources).filter(([, r]) => r.Type === t);

describe('npm run package (offline serverless package)', () => {
  it('ships the operator YAML config as JSON, references intact', () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, 'dist/ferry.config.json'), 'utf8'));
    expect(shipped).toEqual(parse(readFileSync(join(ROOT, 'examples/ferry.config.yaml'), 'utf8')));
    expect(JSON.stringify(shipped)).toContain('${FERRY_WEBHOOK_TOKEN}');
    expect(zipListing).toContain('dist/ferry.config.json');
  });

  it('writes no variable value into the templates (the plugin puts them through FC at deploy): DATABASE_URL included', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, '.serverless/ferry-environment.json'), 'utf8'));
    expect(manifest.literal.FERRY_CONFIG).toBe('dist/ferry.config.json');
    expect(manifest.fromShell).toEqual(expect.arrayContaining(['DATABASE_URL', 'FERRY_WEBHOOK_TOKEN', 'FERRY_API_TOKEN', 'HUAWEICLOUD_SDK_SK']));
    const secrets = ['pkg-db-secret-Wq4', exampleEnv.FERRY_WEBHOOK_TOKEN!, exampleEnv.FERRY_API_TOKEN!, exampleEnv.HUAWEICLOUD_SDK_SK!, exampleEnv.FERRY_LAN_REGISTRY_PASSWORD!];
    for (const name of readdirSync(join(ROOT, '.serverless'))) {
      const text = readFileSync(join(ROOT, '.serverless', name)).toString('latin1');
      for (const secret of secrets) expect(text.includes(secret), `${secret} in .serverless/${name}`).toBe(false);
    }
  });

  it('compiles the three functions with bundled CJS handlers', () => {
    const fns: Record<string, Record<string, any>> = Object.fromEntries(byType('ALIYUN::FC::Function').map(([, r]) => [r.Properties.name, r.Properties]));
    expect(Object.keys(fns).sort()).toEqual(['ferry-dev-cancel', 'ferry-dev-sweep', 'ferry-dev-webhook']);
    expect(fns['ferry-dev-webhook']).toMatchObject({ handler: 'dist/webhook/index.handler', memorySize: 256, timeout: 30, runtime: 'nodejs20', service: 'ferry-dev' });
    expect(fns['ferry-dev-sweep']).toMatchObject({ handler: 'dist/sweep/index.handler', memorySize: 512, timeout: 300 });
    expect(fns['ferry-dev-cancel']).toMatchObject({ handler: 'dist/cancel/index.handler', memorySize: 256, timeout: 30 });
    for (const f of Object.values(fns)) {
      expect(f.environmentVariables).toBeUndefined();
      const target = join(ROOT, String(f.handler).replace(/\.handler$/, '.js'));
      expect(existsSync(target)).toBe(true);
    }
    expect(create.Resources['sls-function-service']).toBeDefined();
  });

  it('creates one API Gateway API per http event, with [param] path syntax', () => {
    const apis = byType('ALIYUN::API::HTTP').map(([, r]) => ({
      fn: r.Properties.ServiceConfig.FunctionComputeConfig.FunctionName,
      route: `${r.Properties.RequestConfig.RequestHttpMethod} ${r.Properties.RequestConfig.RequestPath}`,
      name: r.Properties.ApiName,
    }));
    expect(new Set(apis.map((a) => a.name)).size).toBe(apis.length);
    expect(apis.filter((a) => a.fn === 'ferry-dev-webhook').map((a) => a.route)).toEqual(['POST /webhooks/[kind]']);
    expect(
      apis
        .filter((a) => a.fn === 'ferry-dev-cancel')
        .map((a) => a.route)
        .sort(),
    ).toEqual(
      [
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /replications',
        'GET /replications/[id]',
        'GET /tasks',
        'GET /tasks/[id]',
        'POST /backfill',
        'GET /triggers',
        'POST /cancel',
        'POST /plan',
        'POST /replications/[id]/retry',
        'POST /tasks/[id]/cancel',
        'POST /tasks/[id]/retry',
        'POST /tasks/retry',
        'POST /triggers/apply',
        'GET /ui',
        'GET /ui/login',
        'POST /ui/login',
        'POST /ui/logout',
        'GET /ui/tasks/[id]',
        'GET /ui/tasks/[id]/cancel',
        'POST /ui/tasks/[id]/cancel',
        'GET /ui/tasks/[id]/retry',
        'POST /ui/tasks/[id]/retry',
        'GET /ui/replications/[id]',
        'GET /ui/replications/[id]/retry',
        'POST /ui/replications/[id]/retry',
      ].sort(),
    );
    expect(apis.some((a) => a.fn === 'ferry-dev-sweep')).toBe(false);
  });

  it('grants the execution role the generated actions on the configured instances only', () => {
    const role = update.Resources['sls-fc-exec-role']!.Properties;
    const statements = role.Policies[0].PolicyDocument.Statement as { Action: string[]; Resource: string[] }[];
    const actions = statements.flatMap((s) => s.Action);
    expect(actions).toEqual(expect.arrayContaining(['cr:CreateRepoSyncTask', 'cr:GetRepositorySync', 'cr:CancelRepoSyncTask', 'cr:GetRepository', 'ecs:DescribeTasks', 'ecs:CancelTask']));
    expect(actions.some((a: string) => a.endsWith(':*') || a === '*')).toBe(false);
    const cr = statements.find((s) => s.Action.includes('cr:CreateRepoSyncTask'))!;
    // Dummy credentials: the account is left as '*'; the instances are the example's.
    expect(cr.Resource).toContain('acs:cr:cn-hangzhou:*:repository/cri-localsrc001/*');
    expect(cr.Resource).toContain('acs:cr:cn-beijing:*:repository/cri-localdst002/*');
    expect(cr.Resource.some((r) => r.includes(':repository/*'))).toBe(false);
  });

  it('defines the sweep timer in custom.ferry (the aliyun plugin compiles no timer trigger)', () => {
    expect(byType('ALIYUN::FC::Trigger')).toEqual([]);
    const yml = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'));
    expect(yml.custom.ferry.sweep.schedule).toBe('0 */1 * * * *');
    expect(yml.plugins).toEqual(['serverless-aliyun-function-compute', './deploy/ferry-fc-plugin.cjs']);
    expect(yml.functions.sweep.events ?? []).toEqual([]);
  });

  it('zips only the CJS bundles from dist/', () => {
    for (const n of ['webhook', 'sweep', 'cancel']) expect(zipListing.includes(`dist/${n}/index.js`)).toBe(true);
    expect(zipListing.includes('node_modules/')).toBe(false);
    expect(zipListing.includes('index.mjs')).toBe(false);
    expect(zipListing.includes('.map')).toBe(false);
  });
});

type FcResult = { statusCode: number; body: string; headers: Record<string, string> };
type Handler = (event: unknown, context: unknown) => Promise<FcResult>;

describe('the packaged bundles are working FC handlers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-packaged-'));
  const saved = { ...process.env };
  afterAll(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(dir, { recursive: true, force: true });
  });
  const apiEvent = (method: string, path: string, headers: Record<string, string> = {}) => Buffer.from(JSON.stringify({ httpMethod: method, path, headers, queryParameters: {}, body: '' }));
  const load = (fn: string) => (createRequire(import.meta.url)(join(ROOT, 'dist', fn, 'index.js')) as { handler: Handler }).handler;

  it('bundles contain no devDependencies and report their size', () => {
    const report = JSON.parse(readFileSync(join(ROOT, 'dist/bundles.json'), 'utf8')) as Record<string, { bytes: number }>;
    expect(Object.keys(report).sort()).toEqual(['cancel', 'sweep', 'webhook']);
    for (const fn of ['webhook', 'sweep', 'cancel']) {
      const js = readFileSync(join(ROOT, 'dist', fn, 'index.js'), 'utf8');
      expect(js.includes('sourceMappingURL=index.js.map')).toBe(true);
      // Marker strings of the deploy/test tooling that must never ship.
      for (const marker of ['@alicloud/fc2', 'serverless-aliyun-function-compute', 'fast-check', 'vitest']) expect(js.includes(marker), `${fn} contains ${marker}`).toBe(false);
      expect(js.includes('pglite.wasm')).toBe(false);
      // Nothing of the emulator: none of its credentials, none of its admin routes.
      for (const secret of emulatorSecrets) expect(js.includes(secret), `${fn} contains an emulator credential`).toBe(false);
      expect(js.includes('/_local/'), `${fn} contains the emulator's admin API`).toBe(false);
    }
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist/webhook/meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs).filter((f) => /^local\//.test(f))).toEqual([]);
    expect(Object.keys(meta.inputs).some((f) => f.startsWith('shared/'))).toBe(true);
  });

  it('the bundler refuses an entry that reaches local-only code', async () => {
    const entry = join(dir, 'local-probe.ts');
    writeFileSync(entry, `export { defaultSeed } from ${JSON.stringify(join(ROOT, 'local/cloud/seed.ts'))};\n`);
    try {
      const r = await run(process.execPath, ['scripts/bundle.mjs', '--outdir', join(dir, 'probe'), '--entry', `probe=${entry}`, '--quiet'], { cwd: ROOT }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/pulls in code that only runs locally:\n(\s+local\/\S+\n)*\s+local\/cloud\/seed\.ts\n/);
    } finally {
      rmSync(entry, { force: true });
    }
  });

  it('a deployed function without tokens and PostgreSQL refuses to start (503, reason logged)', async () => {
    // Bundles read JSON only: `npm run package` ships the config as dist/ferry.config.json.
    writeFileSync(join(dir, 'bare.json'), '{"sources": []}\n');
    process.env.FERRY_CONFIG = join(dir, 'bare.json');
    delete process.env.FERRY_MODE;
    delete process.env.DATABASE_URL;
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    let res: FcResult;
    try {
      res = await load('webhook')(apiEvent('POST', '/webhooks/acr'), { requestId: 'req-refuse' });
    } finally {
      process.stdout.write = write;
    }
    expect(res.statusCode).toBe(503);
    expect(out.join('')).toMatch(/"requestId":"req-refuse"[^\n]*auth\.webhookTokens: is empty/);
    expect(JSON.parse(res.body)).toMatchObject({ error: { status: 503, code: 'Unavailable', requestId: 'req-refuse' } });
  });

  it('with tokens and DATABASE_URL the cancel bundle takes the PostgreSQL path; the URL never reaches the logs', async () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ auth: { webhookTokens: ['${FERRY_WEBHOOK_TOKEN}'], apiTokens: [{ name: 'op', token: '${FERRY_API_TOKEN}', role: 'admin' }] } }));
    // Port 1 refuses at once: the ledger cannot open, so the function answers 503 and logs why.
    Object.assign(process.env, {
      FERRY_CONFIG: join(dir, 'ok.json'),
      FERRY_WEBHOOK_TOKEN: 'pkg-webhook-token-1',
      FERRY_API_TOKEN: 'pkg-api-token-1',
      DATABASE_URL: 'postgres://ferry:pkg-db-password@127.0.0.1:1/ferry',
    });
    delete process.env.FERRY_MODE;
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
    let res: FcResult;
    try {
      const sts = { accessKeyId: 'STS.pkg', accessKeySecret: 'pkg-sts-secret', securityToken: 'pkg-sts-token' };
      res = await load('cancel')(apiEvent('GET', '/tasks', { authorization: 'Bearer pkg-api-token-1' }), { requestId: 'r1', credentials: sts });
    } finally {
      process.stdout.write = write;
    }
    expect(res.statusCode).toBe(503);
    const logged = out.join('');
    expect(logged).toMatch(/"msg":"app initialisation failed"[^\n]*ECONNREFUSED/);
    for (const secret of ['pkg-db-password', 'pkg-api-token-1', 'pkg-webhook-token-1', 'pkg-sts-secret', 'pkg-sts-token']) expect(logged.includes(secret), secret).toBe(false);
  });

  it.runIf(PG_URL)('the cancel bundle serves the status page: sign-in form, session cookie, overview', async () => {
    const schema = `ferry_pkgui_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    writeFileSync(join(dir, 'ui.json'), JSON.stringify({ auth: { webhookTokens: ['${FERRY_WEBHOOK_TOKEN}'], apiTokens: [{ name: 'op', token: '${FERRY_API_TOKEN}', role: 'admin' }] } }));
    Object.assign(process.env, { FERRY_CONFIG: join(dir, 'ui.json'), FERRY_WEBHOOK_TOKEN: 'pkg-webhook-token-1', FERRY_API_TOKEN: 'pkg-api-token-1', DATABASE_URL: url.toString() });
    const sts = { accessKeyId: 'STS.pkg', accessKeySecret: 'pkg-sts-secret', securityToken: 'pkg-sts-token' };
    const cancel = load('cancel');
    const call = (event: Record<string, unknown>) =>
      cancel(Buffer.from(JSON.stringify({ queryParameters: {}, body: '', ...event, headers: { host: 'ferry.example', ...(event.headers as object) } })), { requestId: 'ui', credentials: sts });
    try {
      const first = await call({ httpMethod: 'GET', path: '/ui' });
      expect(first.statusCode).toBe(303);
      expect(first.headers.location).toBe('/ui/login?next=%2Fui');
      const login = await call({
        httpMethod: 'POST',
        path: '/ui/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
        body: Buffer.from('token=pkg-api-token-1').toString('base64'),
        isBase64Encoded: true,
      });
      expect(login.statusCode).toBe(303);
      expect(login.headers['set-cookie']).toMatch(/^ferry_ui=[^;]+; Max-Age=28800; Path=\/ui; HttpOnly; Secure; SameSite=Strict$/);
      const page = await call({ httpMethod: 'GET', path: '/ui', headers: { cookie: login.headers['set-cookie']!.split(';')[0] } });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(page.body).toContain('<h1>Overview');
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
