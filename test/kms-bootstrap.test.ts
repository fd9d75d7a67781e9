// A function instance whose config takes its webhook token, API token and DATABASE_URL from KMS:
// it reads them at cold start from the local cloud's KMS (with the role credentials FC hands the
// invocation), once per instance, and answers authenticated requests; a secret it cannot read stops
// it the way an unset variable does, naming the secret.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setLogSink } from '../shared/log.ts';
import { buildDeps, type Deps } from '../shared/runtime/bootstrap.ts';
import type { FcHttpResult } from '../shared/runtime/http.ts';
import { httpHandler } from '../shared/runtime/handler.ts';
import { SecretCache } from '../shared/runtime/kms-secrets.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/index.ts';
import { PG_URL } from './ledger-fixtures.ts';

const ROLE = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret', securityToken: 'sts-role-token-0001' };
const WEBHOOK_TOKEN = 'kms-boot-webhook-token-41b7';
const API_TOKEN = 'kms-boot-api-token-93ac';
const dir = mkdtempSync(join(tmpdir(), 'ferry-kms-boot-'));

let cloud: LocalCloud;
let schema = '';
beforeAll(async () => {
  if (PG_URL) {
    schema = `kms_boot_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`create schema ${schema}`);
    await c.end();
  }
  cloud = await startLocalCloud({
    port: 0,
    registry: { ports: 'ephemeral' },
    seed: {
      alibaba: {
        kmsSecrets: [
          { name: 'ferry/webhook-token', value: WEBHOOK_TOKEN },
          { name: 'ferry/api-token', value: API_TOKEN },
          ...(PG_URL ? [{ name: 'ferry/database-url', value: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}` }] : []),
        ],
      },
    },
  });
});
afterAll(async () => {
  await cloud.close();
  rmSync(dir, { recursive: true, force: true });
  if (schema) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema ${schema} cascade`);
    await c.end();
  }
});

function configFile(name: string, extra = ''): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      'auth:',
      '  webhookTokens: ["${kms:ferry/webhook-token}"]',
      '  apiTokens: [{name: operator, token: "${kms:ferry/api-token}", role: admin}]',
      'clouds:',
      '  alibaba:',
      `    endpoint: ${cloud.url}`,
      extra,
    ].join('\n'),
  );
  return file;
}

/** One FC instance of the webhook function: its own secret cache, its deps kept for closing. */
function instance(env: NodeJS.ProcessEnv) {
  let deps: Deps | undefined;
  const handler = httpHandler(async () => {
    deps = await buildDeps(env, { secrets: new SecretCache() });
    return createWebhookApp(deps);
  });
  const invoke = (token: string | null) =>
    handler(
      {
        version: 'v1',
        rawPath: '/webhooks/acr',
        body: '{}',
        isBase64Encoded: false,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        queryParameters: {},
        requestContext: { requestId: 'r', http: { method: 'POST', path: '/webhooks/acr', sourceIp: '10.0.0.1' } },
      },
      { requestId: `req-${Math.random()}`, credentials: ROLE, region: 'cn-hangzhou', function: { name: 'ferry-webhook', timeout: 30 } },
    ) as Promise<FcHttpResult>;
  return { invoke, close: () => deps?.ledger.close() };
}

const kms = () => cloud.services.alibaba.kms;

describe('a function bootstrapped with KMS secrets', () => {
  test('local mode (PGlite): the KMS webhook token authenticates; each secret is read once for the instance', async () => {
    cloud.reset();
    const fn = instance({ FERRY_CONFIG: configFile('local.yaml'), FERRY_MODE: 'local', FERRY_DATA_DIR: join(dir, 'data') });
    try {
      expect((await fn.invoke('wrong-token-000')).statusCode).toBe(401);
      const ok = await fn.invoke(WEBHOOK_TOKEN);
      expect(ok.statusCode).not.toBe(401);
      expect(ok.statusCode).toBeLessThan(500);
      expect(kms().readCount('ferry/webhook-token')).toBe(1);
      expect(kms().readCount('ferry/api-token')).toBe(1);
    } finally {
      await fn.close();
    }
  }, 60_000);

  test.skipIf(!PG_URL)(
    'deployed (PostgreSQL from ${kms:…} in DATABASE_URL): starts and answers an authenticated request',
    async () => {
      cloud.reset();
      const fn = instance({ FERRY_CONFIG: configFile('deployed.yaml'), DATABASE_URL: '${kms:ferry/database-url}' });
      try {
        const ok = await fn.invoke(WEBHOOK_TOKEN);
        expect(ok.statusCode).not.toBe(401);
        expect(ok.statusCode).toBeLessThan(500);
        expect((await fn.invoke(null)).statusCode).toBe(401);
        expect(kms().readCount('ferry/database-url')).toBe(1);
        expect(kms().readCount('ferry/webhook-token')).toBe(1);
      } finally {
        await fn.close();
      }
    },
    60_000,
  );

  test('DATABASE_URL from KMS is the URL the ledger connects to, and is never logged', async () => {
    cloud.reset();
    const seen: Buffer[] = [];
    const server: Server = createServer((socket) => {
      socket.on('data', (b) => {
        seen.push(b);
        socket.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const url = `postgres://kms_user:kms-db-password-77f1@127.0.0.1:${port}/kms_database`;
    kms().put({ name: 'ferry/db-probe', value: url, versionId: 'v1' }, cloud.clock.now());
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    const fn = instance({ FERRY_CONFIG: configFile('probe.yaml'), DATABASE_URL: '${kms:ferry/db-probe}' });
    try {
      expect((await fn.invoke(WEBHOOK_TOKEN)).statusCode).toBe(503);
    } finally {
      setLogSink(previous);
      server.close();
    }
    const startup = Buffer.concat(seen).toString('latin1');
    expect(startup).toContain('user\u0000kms_user\u0000');
    expect(startup).toContain('database\u0000kms_database\u0000');
    expect(lines.join('\n')).not.toContain('kms-db-password-77f1');
    expect(kms().readCount('ferry/db-probe')).toBe(1);
  }, 60_000);

  test('a secret it cannot read: 503, and the log names the field and the secret', async () => {
    cloud.reset();
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    const fn = instance({ FERRY_CONFIG: configFile('missing.yaml'), DATABASE_URL: '${kms:ferry/no-such-db}' });
    try {
      expect((await fn.invoke(WEBHOOK_TOKEN)).statusCode).toBe(503);
    } finally {
      setLogSink(previous);
    }
    const log = lines.join('\n');
    expect(log).toContain('DATABASE_URL: KMS secret \\"ferry/no-such-db\\" not found in cn-hangzhou (Forbidden.ResourceNotFound');
    expect(log).not.toContain(WEBHOOK_TOKEN);
  }, 60_000);
});
