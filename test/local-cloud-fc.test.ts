import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { createFcService, type FcService } from '../local/cloud/fc.ts';
import { fcAuthorization, fcSignature, fcStringToSign } from '../local/cloud/fc-signature.ts';
import type { VirtualClock } from '../local/cloud/types.ts';
import { hostService, manualClock, testEnv, type HostedService } from './helpers/service-server.ts';

// @alicloud/fc2 ships no type declarations.
const FC = createRequire(import.meta.url)('@alicloud/fc2') as new (accountId: string, config: Record<string, unknown>) => any;

const ACCOUNT = '1000000000000001';
const KEY = { accessKeyID: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };

let clock: VirtualClock;
let service: FcService;
let hosted: HostedService;
let client: any;

beforeAll(async () => {
  clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
  service = createFcService(testEnv({}, clock));
  hosted = await hostService(service, clock);
  client = new FC(ACCOUNT, { ...KEY, region: 'cn-hangzhou', endpoint: hosted.url, timeout: 5000 });
});
afterAll(() => hosted.close());
beforeEach(() => service.reset());

const timer = { triggerName: 'sweep-timer', triggerType: 'timer', triggerConfig: { cronExpression: '0 */1 * * * *', enable: true, payload: '{"k":1}' } };

describe('FC 2.0 control plane through @alicloud/fc2', () => {
  test('timer trigger: create, duplicate, get, update, list, delete, get after delete', async () => {
    const created = await client.createTrigger('ferry', 'sweep', timer);
    expect(created.data).toMatchObject({ triggerName: 'sweep-timer', triggerType: 'timer', triggerConfig: timer.triggerConfig });
    expect(created.headers['x-fc-request-id']).toBeTruthy();

    await expect(client.createTrigger('ferry', 'sweep', timer)).rejects.toMatchObject({ code: 'TriggerAlreadyExists' });

    const got = await client.getTrigger('ferry', 'sweep', 'sweep-timer');
    expect(got.data.triggerConfig.cronExpression).toBe('0 */1 * * * *');

    clock.advance(60_000);
    const updated = await client.updateTrigger('ferry', 'sweep', 'sweep-timer', { triggerConfig: { cronExpression: '@every 5m', enable: false } });
    expect(updated.data.triggerConfig).toEqual({ cronExpression: '@every 5m', enable: false, payload: '' });
    expect(Date.parse(updated.data.lastModifiedTime) - Date.parse(updated.data.createdTime)).toBe(60_000);
    expect(service.trigger('ferry', 'sweep', 'sweep-timer')?.triggerConfig).toEqual(updated.data.triggerConfig);

    const listed = await client.listTriggers('ferry', 'sweep');
    expect(listed.data.triggers.map((t: any) => t.triggerName)).toEqual(['sweep-timer']);

    await client.deleteTrigger('ferry', 'sweep', 'sweep-timer');
    await expect(client.getTrigger('ferry', 'sweep', 'sweep-timer')).rejects.toMatchObject({ code: 'TriggerNotFound' });
    await expect(client.deleteTrigger('ferry', 'sweep', 'sweep-timer')).rejects.toMatchObject({ code: 'TriggerNotFound' });
  });

  test('invalid timer config and unknown service/function', async () => {
    await expect(client.createTrigger('ferry', 'sweep', { ...timer, triggerConfig: { cronExpression: '* * *', enable: true } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(client.createTrigger('ferry', 'sweep', { ...timer, triggerName: '9bad' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(client.getTrigger('nope', 'sweep', 'x')).rejects.toMatchObject({ code: 'ServiceNotFound' });
    await expect(client.getTrigger('ferry', 'nope', 'x')).rejects.toMatchObject({ code: 'FunctionNotFound' });
  });

  test('async invocation config: put, get, delete (default qualifier LATEST and an explicit one)', async () => {
    await expect(client.getFunctionAsyncConfig('ferry', 'webhook')).rejects.toMatchObject({ code: 'AsyncConfigNotExists' });
    const put = await client.putFunctionAsyncConfig('ferry', 'webhook', undefined, { maxAsyncEventAgeInSeconds: 3600, maxAsyncRetryAttempts: 2 });
    expect(put.data).toMatchObject({ service: 'ferry', function: 'webhook', qualifier: 'LATEST', maxAsyncEventAgeInSeconds: 3600, maxAsyncRetryAttempts: 2 });
    expect((await client.getFunctionAsyncConfig('ferry', 'webhook')).data.maxAsyncRetryAttempts).toBe(2);
    await client.putFunctionAsyncConfig('ferry', 'webhook', 'prod', { maxAsyncRetryAttempts: 0 });
    expect(service.asyncConfig('ferry', 'webhook', 'prod')?.maxAsyncRetryAttempts).toBe(0);
    await expect(client.putFunctionAsyncConfig('ferry', 'webhook', undefined, { maxAsyncRetryAttempts: 9 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await client.deleteFunctionAsyncConfig('ferry', 'webhook');
    await expect(client.getFunctionAsyncConfig('ferry', 'webhook')).rejects.toMatchObject({ code: 'AsyncConfigNotExists' });
    expect(service.asyncConfig('ferry', 'webhook', 'prod')).toBeDefined();
  });

  test('invokeFunction: sync with a configured responder, async → 202, function error, records', async () => {
    service.setInvokeResponder('ferry', 'cancel', (inv) => ({ body: { echoed: JSON.parse(inv.payload), qualifier: inv.qualifier } }));
    const sync = await client.invokeFunction('ferry', 'cancel', JSON.stringify({ taskId: 't1' }));
    expect(sync.data).toEqual({ echoed: { taskId: 't1' }, qualifier: 'LATEST' });

    const async = await client.invokeFunction('ferry', 'sweep', 'tick', { 'x-fc-invocation-type': 'Async' }, 'prod');
    expect(async.headers['x-fc-request-id']).toBeTruthy();

    service.setInvokeResponder('ferry', 'webhook', () => {
      throw new Error('boom');
    });
    const failed = await client.invokeFunction('ferry', 'webhook', '{}');
    expect(failed.headers['x-fc-error-type']).toBe('UnhandledInvocationError');
    expect(failed.data.errorMessage).toBe('boom');

    expect(service.invocations().map((i) => [i.function, i.type, i.qualifier, i.payload])).toEqual([
      ['cancel', 'Sync', 'LATEST', '{"taskId":"t1"}'],
      ['sweep', 'Async', 'prod', 'tick'],
      ['webhook', 'Sync', 'LATEST', '{}'],
    ]);
    const viaAdmin = await request(`${hosted.url}/_local/fc/invocations?function=sweep`);
    expect(((await viaAdmin.body.json()) as unknown[]).length).toBe(1);
  });

  test('raw async invoke answers 202', async () => {
    const path = '/2016-08-15/services/ferry/functions/sweep/invocations';
    const headers: Record<string, string> = { date: new Date().toUTCString(), 'x-fc-account-id': ACCOUNT, 'x-fc-invocation-type': 'Async', 'content-type': 'application/octet-stream' };
    headers.authorization = fcAuthorization(KEY.accessKeyID, fcSignature(fcStringToSign('POST', path, headers, null), KEY.accessKeySecret));
    const res = await request(hosted.url + path, { method: 'POST', headers, body: 'x' });
    await res.body.text();
    expect(res.statusCode).toBe(202);
  });
});

describe('FC 2.0 service and function configuration through @alicloud/fc2', () => {
  const vpc = { vpcId: 'vpc-bp1local', vSwitchIds: ['vsw-bp1a', 'vsw-bp1b'], securityGroupId: 'sg-bp1local' };
  const role = `acs:ram::${ACCOUNT}:role/sls-ferry-exec-role`;

  test('vpcConfig: empty by default, needs a role, set, read back, detached', async () => {
    const got = await client.getService('ferry');
    expect(got.data).toMatchObject({ serviceName: 'ferry', vpcConfig: { vpcId: '', vSwitchIds: [], securityGroupId: '' }, internetAccess: true });
    await expect(client.updateService('ferry', { vpcConfig: vpc })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/service role is required/) });
    await expect(client.updateService('ferry', { role, vpcConfig: { ...vpc, vSwitchIds: [] } })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/vSwitch/) });
    await expect(client.updateService('ferry', { role, vpcConfig: { ...vpc, securityGroupId: '' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    clock.advance(1000);
    const updated = await client.updateService('ferry', { role, vpcConfig: vpc });
    expect(updated.data).toMatchObject({ role, vpcConfig: vpc });
    expect(Date.parse(updated.data.lastModifiedTime) - Date.parse(updated.data.createdTime)).toBe(1000);
    expect((await client.getService('ferry')).data.vpcConfig).toEqual(vpc);
    expect(service.service('ferry')?.vpcConfig).toEqual(vpc);
    await client.updateService('ferry', { vpcConfig: { vpcId: '', vSwitchIds: [], securityGroupId: '' } });
    expect(service.service('ferry')?.vpcConfig.vpcId).toBe('');
    await expect(client.getService('nope')).rejects.toMatchObject({ code: 'ServiceNotFound' });
  });

  test('function environment variables: put, read back, documented key and size limits', async () => {
    const put = await client.updateFunction('ferry', 'webhook', { environmentVariables: { FERRY_CONFIG: 'dist/ferry.config.json', MY_TOKEN: 't-1' } });
    expect(put.data.environmentVariables).toEqual({ FERRY_CONFIG: 'dist/ferry.config.json', MY_TOKEN: 't-1' });
    expect((await client.getFunction('ferry', 'webhook')).data.environmentVariables.MY_TOKEN).toBe('t-1');
    expect(service.environment('ferry', 'webhook')).toEqual({ FERRY_CONFIG: 'dist/ferry.config.json', MY_TOKEN: 't-1' });
    // Another field alone leaves the environment as it was.
    await client.updateFunction('ferry', 'webhook', { description: 'x' });
    expect(service.environment('ferry', 'webhook')?.MY_TOKEN).toBe('t-1');
    await expect(client.updateFunction('ferry', 'webhook', { environmentVariables: { '1BAD': 'x' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(client.updateFunction('ferry', 'webhook', { environmentVariables: { FC_FUNC: 'x' } })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/reserved/) });
    await expect(client.updateFunction('ferry', 'webhook', { environmentVariables: { BIG: 'x'.repeat(5000) } })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringMatching(/4096-byte/),
    });
    await expect(client.getFunction('ferry', 'nope')).rejects.toMatchObject({ code: 'FunctionNotFound' });
    const state = (await request(`${hosted.url}/_local/fc/state`)).body;
    expect(await state.text()).not.toContain('t-1');
  });
});

describe('FC authentication', () => {
  test('wrong secret → SignatureNotMatch (403)', async () => {
    const bad = new FC(ACCOUNT, { ...KEY, accessKeySecret: 'wrong', region: 'cn-hangzhou', endpoint: hosted.url });
    await expect(bad.getTrigger('ferry', 'sweep', 'x')).rejects.toMatchObject({ code: 'SignatureNotMatch' });
    await expect(bad.invokeFunction('ferry', 'sweep', 'x')).rejects.toThrow(/failed with 403/);
    expect(service.invocations()).toEqual([]);
  });

  test('unknown key, other account, skewed date', async () => {
    const unknown = new FC(ACCOUNT, { accessKeyID: 'LTAInope', accessKeySecret: 'x', region: 'cn-hangzhou', endpoint: hosted.url });
    await expect(unknown.listTriggers('ferry', 'sweep')).rejects.toMatchObject({ code: 'InvalidAccessKeyID' });
    const other = new FC('2000000000000002', { ...KEY, region: 'cn-hangzhou', endpoint: hosted.url });
    await expect(other.listTriggers('ferry', 'sweep')).rejects.toMatchObject({ code: 'AccessDenied' });

    const path = '/2016-08-15/services/ferry/functions/sweep/triggers';
    const headers: Record<string, string> = { date: new Date(Date.now() - 20 * 60_000).toUTCString(), 'x-fc-account-id': ACCOUNT };
    headers.authorization = fcAuthorization(KEY.accessKeyID, fcSignature(fcStringToSign('GET', path, headers, null), KEY.accessKeySecret));
    const res = await request(hosted.url + path, { headers });
    expect(res.statusCode).toBe(403);
    expect(await res.body.json()).toMatchObject({ ErrorCode: 'RequestTimeTooSkewed' });
  });

  test('string to sign matches fc2 getSignature', () => {
    const headers = { date: 'Wed, 01 Jan 2025 00:00:00 GMT', 'content-md5': 'abc', 'content-type': 'application/json', 'x-fc-account-id': ACCOUNT, 'x-fc-b': '2', 'X-Fc-A': '1' };
    const ours = fcAuthorization(KEY.accessKeyID, fcSignature(fcStringToSign('PUT', '/2016-08-15/services/s/functions/f/triggers/t', headers, null), KEY.accessKeySecret));
    expect((FC as any).getSignature(KEY.accessKeyID, KEY.accessKeySecret, 'PUT', '/2016-08-15/services/s/functions/f/triggers/t', headers, null)).toBe(ours);
    const q = { b: '2', a: ['3', '1'] };
    const withQuery = fcSignature(fcStringToSign('GET', '/2016-08-15/proxy/s/f/', headers, q), 'k');
    expect((FC as any).getSignature('id', 'k', 'GET', '/2016-08-15/proxy/s/f/', headers, { b: '2', a: ['3', '1'] })).toBe(`FC id:${withQuery}`);
  });
});

describe('FC operations and faults', () => {
  const req = (method: string, path: string) => ({ method, path, query: new URLSearchParams(), headers: {}, body: Buffer.from(''), now: 0 });
  test('operation names', () => {
    const base = '/2016-08-15/services/ferry/functions/sweep';
    expect(service.operation(req('POST', `${base}/triggers`))).toEqual({ op: 'fc:createTrigger', scope: 'ferry/sweep' });
    expect(service.operation(req('GET', `${base}/triggers`))?.op).toBe('fc:listTriggers');
    expect(service.operation(req('GET', `${base}/triggers/t`))?.op).toBe('fc:getTrigger');
    expect(service.operation(req('PUT', `${base}/triggers/t`))?.op).toBe('fc:updateTrigger');
    expect(service.operation(req('DELETE', `${base}/triggers/t`))?.op).toBe('fc:deleteTrigger');
    expect(service.operation(req('POST', '/2016-08-15/services/ferry.prod/functions/sweep/invocations'))).toEqual({ op: 'fc:invokeFunction', scope: 'ferry/sweep' });
    expect(service.operation(req('PUT', `${base}/async-invoke-config`))?.op).toBe('fc:putFunctionAsyncConfig');
    expect(service.operation(req('PUT', '/2016-08-15/services/ferry'))).toEqual({ op: 'fc:updateService', scope: 'ferry' });
    expect(service.operation(req('GET', '/2016-08-15/services/ferry/'))?.op).toBe('fc:getService');
    expect(service.operation(req('PUT', base))).toEqual({ op: 'fc:updateFunction', scope: 'ferry/sweep' });
    expect(service.operation(req('GET', base))?.op).toBe('fc:getFunction');
    expect(service.owns(req('GET', '/2016-08-15/services'))).toBe(true);
    expect(service.owns(req('GET', '/v2/manage/regions'))).toBe(false);
  });
  test('throttled and server error bodies', () => {
    const t = service.throttled(req('GET', '/2016-08-15/x'), 1500);
    expect([t.status, (t.body as any).ErrorCode, t.headers?.['retry-after']]).toEqual([429, 'ResourceThrottled', '2']);
    expect((service.serverError(req('GET', '/2016-08-15/x'), 503).body as any).ErrorCode).toBe('ServiceUnavailable');
    expect(service.errorResponse(req('GET', '/2016-08-15/x'), 409, 'ConcurrentUpdateError', 'busy').body).toEqual({ ErrorCode: 'ConcurrentUpdateError', ErrorMessage: 'busy' });
    expect(service.caller({ ...req('GET', '/2016-08-15/x'), headers: { authorization: `FC ${KEY.accessKeyID}:sig` } })).toBe(ACCOUNT);
  });
});
