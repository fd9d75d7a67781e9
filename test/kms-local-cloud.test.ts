// `${kms:…}` secrets read from the local cloud's KMS (GetSecretValue, signed by Ferry's own client):
// one call per secret per instance, shared by concurrent first reads, masked in logs, and the
// documented errors turned into messages that name the secret, never a value.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { KmsClient } from '../shared/clients/kms.ts';
import { CloudAuthError, CloudInvalidRequestError, CloudNotFoundError, CloudPermissionError } from '../shared/clients/errors.ts';
import { parseConfig } from '../shared/config/index.ts';
import { createLogger, setLogSink } from '../shared/log.ts';
import { kmsSecretFetcher, SecretCache } from '../shared/runtime/kms-secrets.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/index.ts';

const OWNER = '1000000000000001';
const OTHER = '1000000000000002';
const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const WEBHOOK_TOKEN = 'kms-webhook-token-6f1c2e';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    registry: { ports: 'ephemeral' },
    seed: {
      alibaba: {
        accounts: [
          { accountId: OWNER, ...KEY },
          { accountId: OTHER, accessKeyId: 'LTAI5tOtherAccount', accessKeySecret: 'other-secret' },
        ],
        kmsSecrets: [
          { name: 'ferry/webhook-token', value: WEBHOOK_TOKEN, previous: 'kms-webhook-token-old' },
          { name: 'ferry/api-token', value: 'kms-api-token-9d8e7f' },
          { name: 'ferry/binary', value: 'AAEC', dataType: 'binary' },
          { name: 'ferry/empty', value: '' },
          { name: 'shared/db', value: 'postgres://other', accountId: OTHER },
        ],
      },
    },
  });
});
afterAll(() => cloud.close());
beforeEach(() => {
  cloud.reset();
});

const client = (creds = KEY) => new KmsClient({ regionId: 'cn-hangzhou', endpoint: cloud.url, credentials: () => creds, retry: { maxAttempts: 1 } });

/** A config whose Alibaba keys and endpoint are the local cloud's, as a local run's are. */
function config(webhookTokens: string[]) {
  return parseConfig(
    { auth: { webhookTokens }, clouds: { alibaba: { accessKeyId: '${AK}', accessKeySecret: '${SK}', endpoint: cloud.url, kms: { region: 'cn-hangzhou' } } } },
    { AK: KEY.accessKeyId, SK: KEY.accessKeySecret },
  );
}

describe('the local cloud emulates GetSecretValue', () => {
  test('ACSCurrent by default; ACSPrevious and a version id on request', async () => {
    const current = await client().getSecretValue({ secretName: 'ferry/webhook-token' });
    expect(current).toMatchObject({ name: 'ferry/webhook-token', data: WEBHOOK_TOKEN, dataType: 'text', versionId: 'v1', versionStages: ['ACSCurrent'] });
    expect(current.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect((await client().getSecretValue({ secretName: 'ferry/webhook-token', versionStage: 'ACSPrevious' })).data).toBe('kms-webhook-token-old');
    expect((await client().getSecretValue({ secretName: 'ferry/webhook-token', versionId: 'v1-previous' })).data).toBe('kms-webhook-token-old');
  });

  test('documented errors: unknown secret, stage and version that disagree, another account, a bad signature', async () => {
    await expect(client().getSecretValue({ secretName: 'ferry/nope' })).rejects.toMatchObject({ constructor: CloudNotFoundError, code: 'Forbidden.ResourceNotFound', status: 404 });
    await expect(client().getSecretValue({ secretName: 'ferry/api-token', versionStage: 'ACSPrevious' })).rejects.toBeInstanceOf(CloudNotFoundError);
    await expect(client().getSecretValue({ secretName: 'ferry/webhook-token', versionStage: 'ACSCurrent', versionId: 'v1-previous' })).rejects.toMatchObject({
      constructor: CloudInvalidRequestError,
      code: 'InvalidParameter',
    });
    await expect(client().getSecretValue({ secretName: 'ferry/api-token', versionStage: 'Latest' })).rejects.toBeInstanceOf(CloudInvalidRequestError);
    // Another account's secret: not found by name, refused by ARN.
    await expect(client().getSecretValue({ secretName: 'shared/db' })).rejects.toBeInstanceOf(CloudNotFoundError);
    await expect(client().getSecretValue({ secretName: `acs:kms:cn-hangzhou:${OTHER}:secret/shared/db` })).rejects.toMatchObject({
      constructor: CloudPermissionError,
      code: 'Forbidden.NoPermission',
    });
    await expect(client({ ...KEY, accessKeySecret: 'wrong' }).getSecretValue({ secretName: 'ferry/api-token' })).rejects.toMatchObject({
      constructor: CloudAuthError,
      code: 'SignatureDoesNotMatch',
    });
    expect(cloud.services.alibaba.kms.readCount('ferry/api-token')).toBe(0);
  });

  test('the state view names secrets, never their values', async () => {
    expect(JSON.stringify(cloud.services.alibaba.snapshot())).not.toContain(WEBHOOK_TOKEN);
  });
});

describe('reading the config secrets for an instance', () => {
  test('one GetSecretValue per secret per instance; concurrent first reads share it', async () => {
    const cache = new SecretCache();
    const fetch = kmsSecretFetcher(config(['${kms:ferry/webhook-token}']), { env: {}, cache });
    const values = await Promise.all([fetch('ferry/webhook-token'), fetch('ferry/webhook-token'), fetch('ferry/api-token')]);
    expect(values).toEqual([WEBHOOK_TOKEN, WEBHOOK_TOKEN, 'kms-api-token-9d8e7f']);
    expect(await fetch('ferry/webhook-token')).toBe(WEBHOOK_TOKEN);
    expect(cloud.services.alibaba.kms.readCount('ferry/webhook-token')).toBe(1);
    expect(cloud.services.alibaba.kms.readCount('ferry/api-token')).toBe(1);
  });

  test('rotation: the instance keeps its value, a new instance reads the new one', async () => {
    const first = kmsSecretFetcher(config([]), { env: {}, cache: new SecretCache() });
    expect(await first('ferry/api-token')).toBe('kms-api-token-9d8e7f');
    cloud.services.alibaba.kms.put({ name: 'ferry/api-token', value: 'kms-api-token-rotated', versionId: 'v2' }, cloud.clock.now());
    expect(await first('ferry/api-token')).toBe('kms-api-token-9d8e7f');
    const next = kmsSecretFetcher(config([]), { env: {}, cache: new SecretCache() });
    expect(await next('ferry/api-token')).toBe('kms-api-token-rotated');
  });

  test('a value read is masked in every log line', async () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const fetch = kmsSecretFetcher(config([]), { env: {}, cache: new SecretCache() });
      const value = await fetch('ferry/webhook-token');
      createLogger({}, 'debug').info('request', { note: `Bearer ${value}`, path: `/webhooks/acr?x=${value}` });
    } finally {
      setLogSink(previous);
    }
    expect(lines.join('\n')).not.toContain(WEBHOOK_TOKEN);
    expect(lines.join('\n')).toContain('Bearer ***');
  });

  test('the role credentials sign when the config names no keys, and the function region is used', async () => {
    const unresolved = parseConfig({ auth: { webhookTokens: ['${kms:ferry/webhook-token}'] }, clouds: { alibaba: { endpoint: cloud.url } } }, {});
    const fetch = kmsSecretFetcher(unresolved, { env: {}, runtimeCredentials: () => ({ ...KEY, securityToken: 'sts-token-1234' }), runtimeRegion: () => 'cn-shanghai', cache: new SecretCache() });
    expect(await fetch('ferry/webhook-token')).toBe(WEBHOOK_TOKEN);
  });

  test('errors name the secret and what to do, never a value; a failed read is tried again', async () => {
    const fetch = kmsSecretFetcher(config([]), { env: {}, cache: new SecretCache() });
    await expect(fetch('ferry/missing')).rejects.toThrow(
      /^KMS secret "ferry\/missing" not found in cn-hangzhou \(Forbidden\.ResourceNotFound, request [0-9A-F-]+\): create it in KMS Secrets Manager there, or correct the name$/,
    );
    await expect(fetch(`acs:kms:cn-hangzhou:${OTHER}:secret/shared/db`)).rejects.toThrow(`not allowed to read KMS secret "acs:kms:cn-hangzhou:${OTHER}:secret/shared/db" in cn-hangzhou`);
    await expect(fetch('ferry/binary')).rejects.toThrow('KMS secret "ferry/binary" holds binary data; Ferry reads text secrets');
    await expect(fetch('ferry/empty')).rejects.toThrow('KMS secret "ferry/empty" is empty');

    cloud.faults.add({ op: 'kms:GetSecretValue', count: 1, error: { status: 403, code: 'Forbidden.NoPermission', message: 'This operation is forbidden by permission system.' } });
    const err = (await fetch('ferry/api-token').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^not allowed to read KMS secret "ferry\/api-token" in cn-hangzhou \(Forbidden\.NoPermission, request [0-9A-F-]+\): the function's RAM role needs kms:GetSecretValue on acs:kms:cn-hangzhou:<account-id>:secret\/ferry\/api-token/,
    );
    expect(await fetch('ferry/api-token')).toBe('kms-api-token-9d8e7f');
  });

  test('without a region (outside FC, none configured) the read fails saying so', async () => {
    const unresolved = parseConfig({ clouds: { alibaba: { endpoint: cloud.url } } }, {});
    await expect(kmsSecretFetcher(unresolved, { env: {}, cache: new SecretCache() })('ferry/api-token')).rejects.toThrow(
      'cannot read KMS secret "ferry/api-token": the region is unknown outside Function Compute; set clouds.alibaba.kms.region',
    );
  });
});
