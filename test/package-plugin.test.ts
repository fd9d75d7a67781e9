// deploy/ferry-fc-plugin.cjs logic through the REAL @alicloud/fc2 client against the local cloud's
// Function Compute 2.0 emulation (signature checked, FC error shapes, 404 codes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';

const require = createRequire(import.meta.url);
const plugin = require('../deploy/ferry-fc-plugin.cjs') as {
  TIMER_TRIGGER_NAME: string;
  syncTimer(fc: unknown, o: Record<string, unknown>): Promise<string>;
  removeTimer(fc: unknown, o: Record<string, unknown>): Promise<string>;
  putAsyncConfigs(fc: unknown, svc: string, cfgs: Record<string, unknown>[]): Promise<string[]>;
  removeAsyncConfigs(fc: unknown, svc: string, fns: string[]): Promise<string[]>;
  syncVpc(fc: unknown, svc: string, vpc: Record<string, unknown>): Promise<string>;
  pushEnvironment(fc: unknown, svc: string, fns: { name: string; environmentVariables: Record<string, string> }[]): Promise<string[]>;
  createFcClient(o: { credentialsFile: string; region: string; endpoint?: string }): any;
  readCredentials(file: string): Record<string, string>;
};

const ACCOUNT = '1000000000000001';
const SERVICE = 'ferry-dev';
const FUNCTIONS = ['ferry-dev-webhook', 'ferry-dev-sweep', 'ferry-dev-cancel'];
let cloud: LocalCloud;
const dir = mkdtempSync(join(tmpdir(), 'ferry-plugin-'));
const ini = join(dir, 'creds');

beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    log: false,
    seed: { fc: { accountId: ACCOUNT, services: [{ name: SERVICE, functions: FUNCTIONS, role: `acs:ram::${ACCOUNT}:role/sls-ferry-dev-cn-hangzhou-exec-role` }] } },
  });
  // The same INI the aliyun plugin reads; the key is the local cloud's seeded account key.
  writeFileSync(ini, `[other]\naliyun_account_id = nope\n[default]\naliyun_account_id = ${ACCOUNT}\naliyun_access_key_id = LTAI5tLocalFerryKey\naliyun_access_key_secret = local-ferry-secret\n`);
}, 10_000);

afterAll(async () => {
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => plugin.createFcClient({ credentialsFile: ini, region: 'cn-hangzhou', endpoint: cloud.url });

describe('ferry-fc-plugin with @alicloud/fc2 against the local cloud', () => {
  it('reads only the [default] section of the credentials INI', () => {
    expect(plugin.readCredentials(ini)).toMatchObject({ aliyun_account_id: ACCOUNT, aliyun_access_key_id: 'LTAI5tLocalFerryKey' });
    writeFileSync(join(dir, 'bad'), '[default]\naliyun_account_id = 1\n');
    expect(() => plugin.readCredentials(join(dir, 'bad'))).toThrow(/aliyun_access_key_id/);
  });

  it('creates the timer trigger, then updates it, then removes it (404 tolerated)', async () => {
    const fc = client();
    const opts = { serviceName: SERVICE, functionName: 'ferry-dev-sweep', cronExpression: '0 */1 * * * *' };
    expect(await plugin.syncTimer(fc, opts)).toBe('created');
    expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', plugin.TIMER_TRIGGER_NAME)).toMatchObject({
      triggerName: 'ferry-sweep-timer',
      triggerType: 'timer',
      triggerConfig: { cronExpression: '0 */1 * * * *', enable: true, payload: '' },
    });
    expect(await plugin.syncTimer(fc, { ...opts, cronExpression: '@every 5m', payload: '{"reason":"timer"}' })).toBe('updated');
    expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')!.triggerConfig).toMatchObject({ cronExpression: '@every 5m', payload: '{"reason":"timer"}' });
    // What the FC API itself answers, read back with the same client.
    const got = await fc.getTrigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer');
    expect(got.data.triggerConfig.cronExpression).toBe('@every 5m');
    expect(await plugin.removeTimer(fc, opts)).toBe('deleted');
    expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')).toBeUndefined();
    expect(await plugin.removeTimer(fc, opts)).toBe('absent');
  });

  it('surfaces FC errors that are not "not found" (unknown function, bad key)', async () => {
    await expect(plugin.syncTimer(client(), { serviceName: SERVICE, functionName: 'nope', cronExpression: '0 */1 * * * *' })).rejects.toMatchObject({ code: 'FunctionNotFound' });
    writeFileSync(join(dir, 'wrong'), `[default]\naliyun_account_id = ${ACCOUNT}\naliyun_access_key_id = LTAI5tLocalFerryKey\naliyun_access_key_secret = not-the-secret\n`);
    const wrong = plugin.createFcClient({ credentialsFile: join(dir, 'wrong'), region: 'cn-hangzhou', endpoint: cloud.url });
    await expect(plugin.syncTimer(wrong, { serviceName: SERVICE, functionName: 'ferry-dev-sweep', cronExpression: '0 */1 * * * *' })).rejects.toMatchObject({
      code: expect.stringMatching(/Signature|Auth|Access/i),
    });
    expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')).toBeUndefined();
  });

  it('rejects a five-field cron before calling FC', async () => {
    const before = cloud.services.fc.invocations().length;
    await expect(plugin.syncTimer(client(), { serviceName: SERVICE, functionName: 'ferry-dev-sweep', cronExpression: '*/1 * * * *' })).rejects.toThrow(/six fields/);
    expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')).toBeUndefined();
    expect(cloud.services.fc.invocations().length).toBe(before);
  });

  it('puts and removes async configs (qualifier LATEST); validates ranges', async () => {
    const fc = client();
    const done = await plugin.putAsyncConfigs(fc, SERVICE, [{ functionName: 'ferry-dev-webhook', maxAsyncRetryAttempts: 2, maxAsyncEventAgeInSeconds: 3600 }, { functionName: 'ferry-dev-cancel' }]);
    expect(done).toEqual(['ferry-dev-webhook']);
    expect(cloud.services.fc.asyncConfig(SERVICE, 'ferry-dev-webhook', 'LATEST')).toMatchObject({ maxAsyncRetryAttempts: 2, maxAsyncEventAgeInSeconds: 3600, qualifier: 'LATEST' });
    expect(cloud.services.fc.asyncConfig(SERVICE, 'ferry-dev-cancel', 'LATEST')).toBeUndefined();
    expect(await plugin.removeAsyncConfigs(fc, SERVICE, ['ferry-dev-webhook', 'ferry-dev-cancel'])).toEqual(['ferry-dev-webhook']);
    expect(cloud.services.fc.asyncConfig(SERVICE, 'ferry-dev-webhook', 'LATEST')).toBeUndefined();
    await expect(plugin.putAsyncConfigs(fc, SERVICE, [{ functionName: 'x', maxAsyncRetryAttempts: 9 }])).rejects.toThrow(/0–8/);
  });

  it('puts vpcConfig on the service once (unchanged the second time)', async () => {
    const fc = client();
    const vpc = { vpcId: 'vpc-bp1ferry', vSwitchIds: ['vsw-bp1a'], securityGroupId: 'sg-bp1ferry' };
    expect(await plugin.syncVpc(fc, SERVICE, vpc)).toBe('updated');
    expect(cloud.services.fc.service(SERVICE)?.vpcConfig).toEqual(vpc);
    expect(await plugin.syncVpc(fc, SERVICE, vpc)).toBe('unchanged');
    await expect(plugin.syncVpc(fc, 'nope', vpc)).rejects.toMatchObject({ code: 'ServiceNotFound' });
    await fc.updateService(SERVICE, { vpcConfig: { vpcId: '', vSwitchIds: [], securityGroupId: '' } });
  });

  it("puts each function's environment", async () => {
    const done = await plugin.pushEnvironment(client(), SERVICE, [{ name: 'ferry-dev-webhook', environmentVariables: { A: '1' } }]);
    expect(done).toEqual(['ferry-dev-webhook']);
    expect(cloud.services.fc.environment(SERVICE, 'ferry-dev-webhook')).toEqual({ A: '1' });
  });

  describe('the plugin class', () => {
    const Plugin = require('../deploy/ferry-fc-plugin.cjs') as new (sls: unknown, opts: unknown) => { hooks: Record<string, () => Promise<void> | void> };
    const servicePath = join(dir, 'svc');
    const vpc = { vpcId: 'vpc-bp1ferry', vSwitchIds: ['vsw-bp1a', 'vsw-bp1b'], securityGroupId: 'sg-bp1ferry' };
    const shipped = {
      auth: { webhookTokens: ['${MY_HOOK}'], apiTokens: [{ name: 'op', token: '${kms:ferry-api}', role: 'admin' }] },
      store: { databaseUrl: '${kms:ferry-db}' },
      deploy: { vpc },
    };
    const fns: Record<string, { name: string; events: unknown[]; environment?: Record<string, string> }> = Object.fromEntries(
      ['webhook', 'sweep', 'cancel'].map((k) => [k, { name: `ferry-dev-${k}`, events: [] }]),
    );
    const lines: string[] = [];
    const sls = {
      cli: { log: (m: string) => lines.push(m) },
      config: { servicePath },
      getProvider: () => ({ getServiceName: () => SERVICE, options: { region: 'cn-hangzhou' }, key: { aliyun_account_id: ACCOUNT } }),
      service: {
        provider: { credentials: ini, environment: { NODE_ENV: 'production', FERRY_CONFIG: 'dist/ferry.config.json' } },
        custom: { ferry: { sweep: { function: 'sweep', schedule: '0 */2 * * * *', payload: '' }, async: { maxAsyncRetryAttempts: 1, maxAsyncEventAgeInSeconds: 600 } } },
        getAllFunctions: () => Object.keys(fns),
        getFunction: (k: string) => fns[k],
      },
    };
    const saved = { endpoint: process.env.FERRY_FC_ENDPOINT, hook: process.env.MY_HOOK };
    beforeAll(() => {
      mkdirSync(join(servicePath, 'dist'), { recursive: true });
      writeFileSync(join(servicePath, 'dist/ferry.config.json'), JSON.stringify(shipped));
      process.env.FERRY_FC_ENDPOINT = cloud.url;
    });
    afterAll(() => {
      for (const [k, v] of [
        ['FERRY_FC_ENDPOINT', saved.endpoint],
        ['MY_HOOK', saved.hook],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    it('refuses to deploy, before any FC call, when a referenced variable is unset', async () => {
      delete process.env.MY_HOOK;
      const before = cloud.services.fc.invocations().length;
      await expect(Promise.resolve().then(() => new Plugin(sls, {}).hooks['after:deploy:deploy']!())).rejects.toThrow(/not set in this shell: MY_HOOK\./);
      expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')).toBeUndefined();
      expect(cloud.services.fc.service(SERVICE)?.vpcConfig.vpcId).toBe('');
      expect(cloud.services.fc.invocations().length).toBe(before);
    });

    it('after:deploy:deploy puts vpcConfig, the environment, the timer and async configs; before:remove:remove undoes the last two', async () => {
      process.env.MY_HOOK = 'plugin-hook-secret-7Hq';
      const p = new Plugin(sls, {});
      await p.hooks['after:deploy:deploy']!();
      expect(cloud.services.fc.service(SERVICE)?.vpcConfig).toEqual(vpc);
      for (const f of FUNCTIONS) {
        // The config's ${VAR}s from this shell plus serverless.yml's literals, and the sweep the webhook wakes; the KMS names never.
        expect(cloud.services.fc.environment(SERVICE, f)).toEqual({
          NODE_ENV: 'production',
          FERRY_CONFIG: 'dist/ferry.config.json',
          MY_HOOK: 'plugin-hook-secret-7Hq',
          FERRY_SWEEP_SERVICE: SERVICE,
          FERRY_SWEEP_FUNCTION: 'ferry-dev-sweep',
        });
      }
      expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')?.triggerConfig).toMatchObject({ cronExpression: '0 */2 * * * *', enable: true });
      for (const f of FUNCTIONS) expect(cloud.services.fc.asyncConfig(SERVICE, f, 'LATEST')).toMatchObject({ maxAsyncRetryAttempts: 1, maxAsyncEventAgeInSeconds: 600 });
      const log = lines.join('\n');
      expect(log).toMatch(/vpcConfig updated on ferry-dev \(vpc-bp1ferry, vsw-bp1a, vsw-bp1b, sg-bp1ferry\)/);
      expect(log).toMatch(/environment put on ferry-dev-webhook, ferry-dev-sweep, ferry-dev-cancel: NODE_ENV, FERRY_CONFIG, MY_HOOK/);
      expect(log).toMatch(/timer trigger ferry-sweep-timer created \(0 \*\/2 \* \* \* \*\) on ferry-dev\/ferry-dev-sweep/);
      await p.hooks['after:deploy:deploy']!();
      expect(lines.join('\n')).toMatch(/vpcConfig unchanged[\s\S]*ferry-sweep-timer updated/);
      await p.hooks['before:remove:remove']!();
      expect(cloud.services.fc.trigger(SERVICE, 'ferry-dev-sweep', 'ferry-sweep-timer')).toBeUndefined();
      for (const f of FUNCTIONS) expect(cloud.services.fc.asyncConfig(SERVICE, f, 'LATEST')).toBeUndefined();
      expect(lines.join('\n')).not.toContain('local-ferry-secret');
      expect(lines.join('\n')).not.toContain('plugin-hook-secret-7Hq');
    });
  });
});
