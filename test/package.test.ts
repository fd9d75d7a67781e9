// Runs `node scripts/package.mjs` (bundle + offline `serverless package`) and inspects what the
// aliyun plugin compiled. Writes dist/ and .serverless/ in the repo, like `npm run package`.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

// Until the apps the entries import exist, package the fixture entry under the three names
// (same runtime, same handler shape). Once they all exist, the real functions/ must bundle.
const APP_MODULES = ['shared/webhook/app.ts', 'shared/api/app.ts', 'shared/sweep/run.ts', 'shared/config/index.ts', 'shared/ledger/index.ts'];
const realEntries = APP_MODULES.every((m) => existsSync(join(ROOT, m)));
const entryArgs = realEntries ? [] : ['webhook', 'sweep', 'cancel'].flatMap((n) => ['--entry', `${n}=test/fixtures/bundle/entry.ts`]);

type Resource = { Type: string; Properties: Record<string, any> };
let update: { Resources: Record<string, Resource> };
let create: { Resources: Record<string, Resource> };
let zipListing = '';

beforeAll(async () => {
  const env = { ...process.env, FERRY_ALIYUN_CREDENTIALS: join(ROOT, '.no-such-credentials-file'), HOME: '/nonexistent-home' };
  await run(process.execPath, ['scripts/package.mjs', ...entryArgs], { cwd: ROOT, env, timeout: 120_000 });
  update = JSON.parse(readFileSync(join(ROOT, '.serverless/configuration-template-update.json'), 'utf8'));
  create = JSON.parse(readFileSync(join(ROOT, '.serverless/configuration-template-create.json'), 'utf8'));
  zipListing = readFileSync(join(ROOT, '.serverless/ferry.zip')).toString('latin1');
}, 120_000);

const byType = (t: string) => Object.entries(update.Resources).filter(([, r]) => r.Type === t);

describe('npm run package (offline serverless package)', () => {
  it(`compiles the three functions with bundled CJS handlers (${realEntries ? 'real entries' : 'fixture entries'})`, () => {
    const fns: Record<string, Record<string, any>> = Object.fromEntries(byType('ALIYUN::FC::Function').map(([, r]) => [r.Properties.name, r.Properties]));
    expect(Object.keys(fns).sort()).toEqual(['ferry-dev-cancel', 'ferry-dev-sweep', 'ferry-dev-webhook']);
    expect(fns['ferry-dev-webhook']).toMatchObject({ handler: 'dist/webhook/index.handler', memorySize: 256, timeout: 30, runtime: 'nodejs20', service: 'ferry-dev' });
    expect(fns['ferry-dev-sweep']).toMatchObject({ handler: 'dist/sweep/index.handler', memorySize: 512, timeout: 300 });
    expect(fns['ferry-dev-cancel']).toMatchObject({ handler: 'dist/cancel/index.handler', memorySize: 256, timeout: 30 });
    for (const f of Object.values(fns)) {
      expect(f.environmentVariables).toMatchObject({ FERRY_CONFIG: expect.any(String), DATABASE_URL: expect.any(String) });
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
    expect(apis.filter((a) => a.fn === 'ferry-dev-cancel').map((a) => a.route).sort()).toEqual([
      'GET /healthz', 'GET /openapi.json', 'GET /replications/[id]', 'GET /tasks', 'GET /tasks/[id]',
      'POST /cancel', 'POST /tasks', 'POST /tasks/[id]/cancel',
    ].sort());
    expect(apis.some((a) => a.fn === 'ferry-dev-sweep')).toBe(false);
  });

  it('grants the execution role only the listed cloud actions', () => {
    const role = update.Resources['sls-fc-exec-role']!.Properties;
    const actions = role.Policies[0].PolicyDocument.Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions).toEqual(expect.arrayContaining(['cr:CreateRepoSyncTask', 'cr:GetRepoSyncTask', 'cr:ListRepoSyncTask', 'cr:CancelRepoSyncTask', 'cr:GetRepository', 'ecs:DescribeTasks', 'ecs:CancelTask']));
    expect(actions.some((a: string) => a.endsWith(':*') || a === '*')).toBe(false);
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
