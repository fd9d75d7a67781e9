// What packaging derives from the operator config (deploy/*.cjs), and `node scripts/package.mjs`
// run for real in temp project dirs (--root): refusals before anything is bundled, then a package
// from a config with custom variable names, KMS references and a VPC, grepped for secret values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateConfig } from '../shared/config/load.ts';

const ROOT = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const { configReferences, configEnvironment } = require('../deploy/config-env.cjs') as {
  configReferences(doc: unknown): { env: string[]; kms: string[] };
  configEnvironment(doc: unknown, shell: Record<string, string | undefined>): { vars: Record<string, string>; missing: string[] };
};
const { deploySettings } = require('../deploy/deploy-settings.cjs') as { deploySettings(doc: unknown): { accountId?: string; vpc?: { vpcId: string; vSwitchIds: string[]; securityGroupId: string } } };
const { ramPolicy } = require('../deploy/ram-policy.cjs') as {
  ramPolicy(
    doc: unknown,
    o: { accountId: string; region: string; vpc?: unknown; sweep?: { service: string; function: string } },
  ): { Version: string; Statement: { Action: string[]; Resource: string[] }[] };
};
const { fc3Template } = require('../deploy/fc3-template.cjs') as { fc3Template(o: Record<string, unknown>): string };

const SECRETS = { MY_WEBHOOK_TOKEN: 'pkg-hook-Zq81xT', MY_API_TOKEN: 'pkg-api-Vb27yU', MY_NOTIFY_URL: 'https://notify.example/pkg-path-Kc93wP' };
const VPC = { vpcId: 'vpc-bp1ferry', vSwitchIds: ['vsw-bp1a', 'vsw-bp1b'], securityGroupId: 'sg-bp1ferry' };

/** A config with custom variable names, KMS references, a cross-account target and a VPC. */
const sample = {
  sources: [
    { kind: 'acr', name: 'src', instanceId: 'cri-src001', region: 'cn-hangzhou' },
    { kind: 'acr', name: 'theirs', instanceId: 'cri-their01', region: 'cn-hangzhou', accountId: '2000000000000002' },
  ],
  rules: [
    {
      name: 'r',
      source: 'src',
      targets: [
        { provider: 'acr', instanceId: 'cri-dst001', region: 'cn-shanghai' },
        { provider: 'acr', instanceId: 'cri-xacct01', region: 'cn-beijing', targetUserId: '2000000000000002' },
      ],
    },
  ],
  auth: {
    webhookTokens: ['${MY_WEBHOOK_TOKEN}'],
    apiTokens: [
      { name: 'op', token: '${MY_API_TOKEN}', role: 'admin' },
      { name: 'ro', token: '${kms:ferry/read-token}', role: 'read' },
    ],
  },
  store: { databaseUrl: '${kms:ferry-db-url}' },
  notifications: [{ type: 'webhook', url: '${MY_NOTIFY_URL}' }],
  sweep: { ecsWatch: { regions: ['cn-hangzhou'] } },
  deploy: { accountId: '1000000000000001', vpc: VPC },
};

describe('what packaging derives from the config', () => {
  it('references: ${VAR} are environment variables, ${kms:NAME} are not; DATABASE_URL only without store.databaseUrl', () => {
    expect(configReferences(sample)).toEqual({ env: ['MY_API_TOKEN', 'MY_NOTIFY_URL', 'MY_WEBHOOK_TOKEN'], kms: ['ferry-db-url', 'ferry/read-token'] });
    expect(configReferences({ auth: { webhookTokens: ['${T}'] } }).env).toEqual(['DATABASE_URL', 'T']);
    expect(configReferences({ store: { databaseUrl: '${PG_URL}' } }).env).toEqual(['PG_URL']);
    expect(configEnvironment(sample, { MY_API_TOKEN: 'a', MY_NOTIFY_URL: '' })).toEqual({ vars: { MY_API_TOKEN: 'a' }, missing: ['MY_NOTIFY_URL', 'MY_WEBHOOK_TOKEN'] });
  });

  it('deploy settings: validated, each problem named by its field', () => {
    expect(deploySettings(sample)).toEqual({ accountId: '1000000000000001', vpc: VPC });
    expect(deploySettings({})).toEqual({});
    let msg = '';
    try {
      deploySettings({ deploy: { accountId: 12, vpc: { vpcId: 'x', vSwitchIds: [], securityGroupId: 'sg-1' }, region: 'cn' } });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/deploy\.accountId: /);
    expect(msg).toMatch(/deploy\.vpc\.vpcId: must be a vpc-… id/);
    expect(msg).toMatch(/deploy\.vpc\.vSwitchIds: must name at least one vSwitch/);
    expect(msg).toMatch(/deploy: .*region/);
  });

  it('the runtime accepts a deploy: section and ignores it', () => {
    const r = validateConfig({ deploy: { vpc: VPC } }, {});
    expect(r.ok).toBe(true);
    expect(r.ok && 'deploy' in r.config).toBe(false);
  });

  it("RAM policy: the ACR actions on this account's instances, ECS with ecsWatch, KMS for the named secrets, ENI actions with a VPC", () => {
    const policy = ramPolicy(sample, { accountId: '1000000000000001', region: 'cn-hangzhou', vpc: VPC });
    expect(policy.Version).toBe('1');
    const [acr, ecs, kms, vpc] = policy.Statement;
    expect(acr!.Action).toEqual([
      'cr:CreateRepoSyncTask',
      'cr:GetRepositorySync',
      'cr:CancelRepoSyncTask',
      'cr:GetRepository',
      'cr:ListRepository',
      'cr:ListRepositoryTag',
      'cr:GetAuthorizationToken',
      'cr:GetWebHookLog',
      'cr:CreateWebHook',
      'cr:DeleteRepositoryTag',
    ]);
    expect(acr!.Resource).toEqual([
      'acs:cr:cn-hangzhou:1000000000000001:repository/cri-src001',
      'acs:cr:cn-hangzhou:1000000000000001:repository/cri-src001/*',
      'acs:cr:cn-shanghai:1000000000000001:repository/cri-dst001',
      'acs:cr:cn-shanghai:1000000000000001:repository/cri-dst001/*',
    ]);
    expect(ecs).toEqual({ Effect: 'Allow', Action: ['ecs:DescribeTasks', 'ecs:DescribeTaskAttribute', 'ecs:CancelTask'], Resource: ['*'] });
    expect(kms).toEqual({
      Effect: 'Allow',
      Action: ['kms:GetSecretValue'],
      Resource: ['acs:kms:cn-hangzhou:1000000000000001:secret/ferry-db-url', 'acs:kms:cn-hangzhou:1000000000000001:secret/ferry/read-token'],
    });
    expect(vpc!.Action).toContain('ecs:CreateNetworkInterface');
    const all = policy.Statement.flatMap((s) => s.Action);
    expect(all.some((a) => a === '*' || a.endsWith(':*'))).toBe(false);
    // No instances, no ECS watch, no KMS, no VPC: nothing granted.
    expect(ramPolicy({}, { accountId: '*', region: 'cn-hangzhou' }).Statement).toEqual([]);
  });

  it('RAM policy: the webhook may invoke the sweep function, that one only', () => {
    const policy = ramPolicy({}, { accountId: '1000000000000001', region: 'cn-hangzhou', sweep: { service: 'ferry-dev', function: 'ferry-dev-sweep' } });
    expect(policy.Statement).toEqual([{ Effect: 'Allow', Action: ['fc:InvokeFunction'], Resource: ['acs:fc:cn-hangzhou:1000000000000001:services/ferry-dev/functions/ferry-dev-sweep'] }]);
  });
});

const run = (args: string[], env: Record<string, string | undefined>, cwd: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, 'scripts/package.mjs'), ...args], { cwd, env: env as NodeJS.ProcessEnv, timeout: 240_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });

/** A project dir holding what `serverless package` needs; sources and node_modules are the repo's. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pkg-root-'));
  copyFileSync(join(ROOT, 'serverless.yml'), join(dir, 'serverless.yml'));
  symlinkSync(join(ROOT, 'deploy'), join(dir, 'deploy'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const baseEnv = (): Record<string, string | undefined> => {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: '/nonexistent-home', FERRY_ALIYUN_CREDENTIALS: '/nonexistent/credentials' };
  return env;
};

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('npm run package refuses a missing, empty or invalid config, before bundling', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const d = project();
    dirs.push(d);
    return d;
  };

  it('no config: fails and removes a stale dist/ferry.config.json', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/ferry.config.json'), '{"stale": true}\n');
    const r = await run(['--root', dir, '--skip-bundle'], baseEnv(), dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/package: no operator config: write ferry\.config\.yaml in .* or set FERRY_CONFIG/);
    expect(existsSync(join(dir, 'dist/ferry.config.json'))).toBe(false);
  });

  it('FERRY_CONFIG naming no file, an empty file, a comments-only file, a list, a YAML error', async () => {
    const dir = fresh();
    const cases: [string, string | null, RegExp][] = [
      ['nope.yaml', null, /FERRY_CONFIG names .*nope\.yaml, which does not exist/],
      ['empty.yaml', '  \n', /empty\.yaml is empty/],
      ['comments.yaml', '# nothing\n', /comments\.yaml holds no settings/],
      ['list.yaml', '- a\n', /list\.yaml must be a mapping/],
      ['broken.yaml', 'auth:\n  webhookTokens: [\n', /broken\.yaml: YAML syntax error at line \d/],
    ];
    for (const [name, text, expected] of cases) {
      if (text !== null) writeFileSync(join(dir, name), text);
      const r = await run(['--root', dir, '--skip-bundle'], { ...baseEnv(), FERRY_CONFIG: name }, dir);
      expect(r.code, name).toBe(1);
      expect(r.out, name).toMatch(expected);
    }
  });

  it('names each variable unset in the shell, never asks for a ${kms:…} one', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'ferry.config.yaml'), JSON.stringify(sample));
    const r = await run(['--root', dir, '--skip-bundle'], { ...baseEnv(), MY_API_TOKEN: 'x' }, dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('2 environment variables referenced by ferry.config.yaml are not set in this shell: MY_NOTIFY_URL, MY_WEBHOOK_TOKEN.');
    expect(r.out).not.toMatch(/ferry-db-url|read-token|DATABASE_URL/);
  });

  it('a config the runtime would refuse fails with its field paths; no value is printed', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'ferry.config.yaml'), 'auth:\n  webhookTokens: [inline-secret-Qx1]\nstore:\n  databaseUrl: ${PG}\nbogus: 1\n');
    const r = await run(['--root', dir, '--skip-bundle'], { ...baseEnv(), PG: 'postgres://u:pg-pass-Lm4@db/ferry' }, dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ferry\.config\.yaml would not start a deployed Ferry:/);
    expect(r.out).toMatch(/auth\.webhookTokens\[0\]: must be a reference/);
    expect(r.out).toMatch(/bogus/);
    expect(r.out).not.toContain('inline-secret-Qx1');
    expect(r.out).not.toContain('pg-pass-Lm4');
    writeFileSync(join(dir, 'ferry.config.yaml'), 'auth:\n  webhookTokens: ["${T}"]\nstore:\n  databaseUrl: ${PG}\n');
    const noApi = await run(['--root', dir, '--skip-bundle'], { ...baseEnv(), PG: 'postgres://db/ferry', T: 'tok-123456' }, dir);
    expect(noApi.out).toMatch(/auth\.apiTokens: is empty/);
  });
});

describe('a package from a config with custom variable names, KMS references and a VPC', () => {
  let dir: string;
  let configDir: string;
  let out = '';
  beforeAll(async () => {
    dir = project();
    configDir = mkdtempSync(join(tmpdir(), 'ferry-pkg-config-'));
    writeFileSync(join(configDir, 'ops.yaml'), JSON.stringify(sample, null, 2));
    const r = await run(['--root', dir], { ...baseEnv(), ...SECRETS, FERRY_CONFIG: join(configDir, 'ops.yaml'), FERRY_REGION: 'cn-hangzhou' }, dir);
    out = r.out;
    expect(r.code, r.out).toBe(0);
  }, 240_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  it('prints the config path whole and ships it as dist/ferry.config.json, references intact', () => {
    expect(out).toContain(`package: ${join(configDir, 'ops.yaml')} → dist/ferry.config.json`);
    expect(JSON.parse(readFileSync(join(dir, 'dist/ferry.config.json'), 'utf8'))).toEqual(sample);
  });

  it('holds no secret value anywhere under .serverless/, dist/ or s.yaml', () => {
    const files = [...filesUnder(join(dir, '.serverless')), ...filesUnder(join(dir, 'dist')), join(dir, 's.yaml')];
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f).toString('latin1');
      for (const [name, value] of Object.entries(SECRETS)) expect(text.includes(value), `${name} in ${f}`).toBe(false);
    }
  });

  it('templates carry no environment values; the manifest names what the functions get', () => {
    const update = JSON.parse(readFileSync(join(dir, '.serverless/configuration-template-update.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const fns = Object.values(update.Resources).filter((r) => r.Type === 'ALIYUN::FC::Function');
    expect(fns.length).toBe(3);
    for (const f of fns) expect(f.Properties.environmentVariables).toBeUndefined();
    const manifest = JSON.parse(readFileSync(join(dir, '.serverless/ferry-environment.json'), 'utf8'));
    expect(manifest).toEqual({
      literal: { NODE_ENV: 'production', FERRY_CONFIG: 'dist/ferry.config.json', FERRY_LOG_LEVEL: 'info' },
      fromShell: ['MY_API_TOKEN', 'MY_NOTIFY_URL', 'MY_WEBHOOK_TOKEN'],
      kms: ['ferry-db-url', 'ferry/read-token'],
      vpc: VPC,
    });
  });

  it("the execution role gets the generated policy next to the aliyun plugin's log statement; the file holds that whole document", () => {
    const update = JSON.parse(readFileSync(join(dir, '.serverless/configuration-template-update.json'), 'utf8'));
    const document = update.Resources['sls-fc-exec-role'].Properties.Policies[0].PolicyDocument;
    const statements = document.Statement as { Action: string[]; Resource: string[] }[];
    const file = JSON.parse(readFileSync(join(dir, '.serverless/ferry-ram-policy.json'), 'utf8'));
    // Applied as a new policy version, the file must keep FC's right to ship logs.
    expect(file).toEqual(document);
    expect(statements[0]!.Action).toEqual(['log:PostLogStoreLogs']);
    const sweep = { service: 'ferry-dev', function: 'ferry-dev-sweep' };
    expect(statements.slice(1)).toEqual(ramPolicy(sample, { accountId: '1000000000000001', region: 'cn-hangzhou', vpc: VPC, sweep }).Statement);
    expect(JSON.stringify(file)).not.toContain('cri-xacct01');
  });

  it('s.yaml: fc3 functions on the same bundles and config, native HTTP and timer triggers, env from the config, vpcConfig', () => {
    const s = parse(readFileSync(join(dir, 's.yaml'), 'utf8'));
    expect(s).toMatchObject({ edition: '3.0.0', name: 'ferry-dev', access: 'default' });
    expect(Object.keys(s.resources).sort()).toEqual(['ferry-cancel', 'ferry-sweep', 'ferry-webhook']);
    const props = (k: string) => s.resources[k].props as Record<string, any>;
    for (const k of ['webhook', 'sweep', 'cancel']) {
      const p = props(`ferry-${k}`);
      expect(s.resources[`ferry-${k}`].component).toBe('fc3');
      expect(p).toMatchObject({ region: 'cn-hangzhou', functionName: `ferry-dev-${k}`, runtime: 'nodejs20', code: './dist', handler: `${k}/index.handler`, vpcConfig: VPC });
      // The handler resolves inside the code root, and the config is there too.
      expect(existsSync(join(dir, 'dist', `${k}/index.js`))).toBe(true);
      expect(existsSync(join(dir, 'dist', p.environmentVariables.FERRY_CONFIG))).toBe(true);
      expect(p.environmentVariables).toEqual({
        NODE_ENV: 'production',
        FERRY_CONFIG: 'ferry.config.json',
        FERRY_LOG_LEVEL: 'info',
        MY_API_TOKEN: "${env('MY_API_TOKEN')}",
        MY_NOTIFY_URL: "${env('MY_NOTIFY_URL')}",
        MY_WEBHOOK_TOKEN: "${env('MY_WEBHOOK_TOKEN')}",
      });
      for (const t of p.triggers) expect(['http', 'timer']).toContain(t.triggerType);
    }
    expect(props('ferry-sweep')).toMatchObject({ memorySize: 512, timeout: 300 });
    expect(props('ferry-sweep').triggers).toEqual([
      { triggerName: 'ferry-sweep-timer', triggerType: 'timer', qualifier: 'LATEST', triggerConfig: { cronExpression: '0 */1 * * * *', enable: true, payload: '' } },
    ]);
    expect(props('ferry-webhook').triggers).toEqual([
      { triggerName: 'http', triggerType: 'http', qualifier: 'LATEST', triggerConfig: { authType: 'anonymous', disableURLInternet: false, methods: ['POST'] } },
    ]);
    expect(props('ferry-cancel').triggers[0].triggerConfig.methods).toEqual(['GET', 'POST']);
  });

  it('s.yaml has no vpcConfig without deploy.vpc', () => {
    const sls = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'));
    const text = fc3Template({ sls, doc: { auth: {} }, settings: {}, stage: 'prod', region: 'cn-shanghai' });
    const s = parse(text);
    expect(s.resources['ferry-webhook'].props.vpcConfig).toBeUndefined();
    expect(s.resources['ferry-webhook'].props.functionName).toBe('ferry-prod-webhook');
    expect(s.resources['ferry-webhook'].props.environmentVariables.DATABASE_URL).toBe("${env('DATABASE_URL')}");
  });
});
