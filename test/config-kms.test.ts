// `${kms:NAME}` references in the config: which fields take them, every bad form named, and the
// async resolution step (shared/config/resolve.ts) with a fetcher standing in for KMS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, parseConfig, validateConfig } from '../shared/config/index.ts';
import { loadResolvedConfig } from '../shared/config/resolve.ts';
import { UNRESOLVED } from '../shared/config/secrets.ts';
import { makeDeps } from '../shared/replicate/deps.ts';
import { systemClock } from '../shared/clock.ts';
import type { Ledger } from '../shared/ledger/index.ts';
import { createLogger } from '../shared/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-config-kms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every secret field of the config, each referencing its own KMS secret. */
function everySecretField(): any {
  return {
    sources: [{ kind: 'harbor', name: 'hb', host: 'harbor.example.com', username: 'robot', password: '${kms:ferry/harbor-password}' }],
    auth: {
      webhookTokens: ['${kms:ferry/webhook-token}', { token: '${kms:ferry/webhook-token-2}', sources: ['hb'] }],
      apiTokens: [{ name: 'op', token: '${kms:ferry/api-token}', role: 'admin' }],
    },
    clouds: {
      alibaba: { accessKeyId: '${kms:ferry/ak}', accessKeySecret: '${kms:ferry/sk}', securityToken: '${kms:ferry/sts}' },
      huawei: { accessKey: '${kms:ferry/hw-ak}', secretKey: '${kms:ferry/hw-sk}' },
    },
    store: { databaseUrl: '${kms:ferry/database-url}' },
    notifications: [
      { type: 'webhook', url: '${kms:ferry/notify-url}' },
      { type: 'slack', url: '${kms:ferry/slack-url}' },
      { type: 'dingtalk', url: '${kms:ferry/dingtalk-url}', secret: '${kms:ferry/dingtalk-secret}' },
    ],
  };
}

function problems(doc: unknown, env: Record<string, string> = {}): string[] {
  const r = validateConfig(doc, env);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

const token = (t: string) => ({ auth: { webhookTokens: [t] } });

describe('${kms:NAME} in the config', () => {
  test('every secret field takes one; the config lists each secret with the fields that name it, unresolved', () => {
    const c = parseConfig(everySecretField(), {});
    expect(c.kms?.resolved).toBe(false);
    const byName = Object.fromEntries((c.kms?.refs ?? []).map((r) => [r.name, r.fields]));
    expect(byName).toEqual({
      'ferry/harbor-password': ['sources[0].password'],
      'ferry/webhook-token': ['auth.webhookTokens[0]'],
      'ferry/webhook-token-2': ['auth.webhookTokens[1].token'],
      'ferry/api-token': ['auth.apiTokens[0].token'],
      'ferry/ak': ['clouds.alibaba.accessKeyId'],
      'ferry/sk': ['clouds.alibaba.accessKeySecret'],
      'ferry/sts': ['clouds.alibaba.securityToken'],
      'ferry/hw-ak': ['clouds.huawei.accessKey'],
      'ferry/hw-sk': ['clouds.huawei.secretKey'],
      'ferry/database-url': ['store.databaseUrl'],
      'ferry/notify-url': ['notifications[0].url'],
      'ferry/slack-url': ['notifications[1].url'],
      'ferry/dingtalk-url': ['notifications[2].url'],
      'ferry/dingtalk-secret': ['notifications[2].secret'],
    });
    // Unresolved fields hold a per-process random stand-in, never the reference text nor a guessable value.
    expect(c.auth.webhookTokens[0]!.token).toBe(UNRESOLVED);
    expect(c.store).toMatchObject({ kind: 'postgres', databaseUrl: UNRESOLVED });
    expect(c.secretValues).toEqual([]);
  });

  test('with the values given, every field holds its secret and each value is recorded for the log mask', () => {
    const doc = everySecretField();
    const names = (parseConfig(doc, {}).kms?.refs ?? []).map((r) => r.name);
    const values = new Map(names.map((n) => [n, `value-of-${n}`]));
    const c = parseConfig(doc, {}, undefined, values);
    expect(c.kms?.resolved).toBe(true);
    expect(c.auth.webhookTokens.map((t) => t.token)).toEqual(['value-of-ferry/webhook-token', 'value-of-ferry/webhook-token-2']);
    expect(c.clouds.alibaba).toMatchObject({ accessKeyId: 'value-of-ferry/ak', accessKeySecret: 'value-of-ferry/sk' });
    expect(c.clouds.huawei?.auth).toMatchObject({ type: 'aksk', accessKey: 'value-of-ferry/hw-ak' });
    expect(c.store).toEqual({ kind: 'postgres', databaseUrl: 'value-of-ferry/database-url', retentionDays: 30 });
    expect(c.notifications[2]).toMatchObject({ url: 'value-of-ferry/dingtalk-url', secret: 'value-of-ferry/dingtalk-secret' });
    expect([...c.secretValues].sort()).toEqual([...values.values()].sort());
  });

  test('${VAR} and ${kms:…} mix; DATABASE_URL may itself be ${kms:NAME}', () => {
    const c = parseConfig(
      { auth: { webhookTokens: ['${MY_WEBHOOK_TOKEN}'], apiTokens: [{ token: '${kms:api}', role: 'read' }] } },
      { MY_WEBHOOK_TOKEN: 'from-env-1234', DATABASE_URL: '${kms:ferry-db}' },
    );
    expect(c.kms?.refs).toEqual([
      { name: 'api', fields: ['auth.apiTokens[0].token'] },
      { name: 'ferry-db', fields: ['DATABASE_URL'] },
    ]);
    expect(c.secretValues).toEqual(['from-env-1234']);
    expect(c.store.kind).toBe('postgres');
  });

  test('names and ARNs KMS accepts', () => {
    for (const name of ['a', 'ferry/prod/db_url', 'x+y=z.w@v-1', 'n'.repeat(192), 'acs:kms:cn-hangzhou:1234567890123456:secret/shared/db']) {
      expect(problems(token(`\${kms:${name}}`))).toEqual([]);
    }
  });

  test.each([
    ['empty name', '${kms:}', 'auth.webhookTokens[0]: names no secret: write ${kms:SECRET_NAME}'],
    ['too long', `\${kms:${'n'.repeat(193)}}`, 'auth.webhookTokens[0]: secret name is 193 characters long; KMS allows at most 192'],
    ['bad characters', '${kms:my secret!}', 'auth.webhookTokens[0]: secret name "my secret!" has characters KMS does not allow (" ", "!"); use letters, digits and _ / + = . - @'],
    ['a brace inside', '${kms:a}b}', 'auth.webhookTokens[0]: secret name "a}b" has characters KMS does not allow ("}"); use letters, digits and _ / + = . - @'],
    ['not closed', '${kms:name', 'auth.webhookTokens[0]: must be exactly ${kms:SECRET_NAME}: one reference, closed by "}", nothing around it'],
    ['text after', '${kms:name}-suffix', 'auth.webhookTokens[0]: must be exactly ${kms:SECRET_NAME}: one reference, closed by "}", nothing around it'],
    ['text before', 'Bearer ${kms:name}', 'auth.webhookTokens[0]: must be exactly ${kms:SECRET_NAME}: one reference, closed by "}", nothing around it'],
    ['upper case', '${KMS:name}', 'auth.webhookTokens[0]: must be written ${kms:SECRET_NAME}, "kms" in lower case'],
    ['spaces', '${ kms : name}', 'auth.webhookTokens[0]: must be written ${kms:SECRET_NAME}, without spaces'],
    [
      'a malformed ARN',
      '${kms:acs:kms:cn-hangzhou:acct:secret/x}',
      'auth.webhookTokens[0]: "acs:kms:cn-hangzhou:acct:secret/x" is not a secret ARN like acs:kms:cn-hangzhou:123456789012:secret/ferry-db',
    ],
    ['another scheme', '${vault:name}', 'auth.webhookTokens[0]: must be a reference like ${FERRY_WEBHOOK_TOKEN} or ${kms:SECRET_NAME}, not an inline secret'],
  ])('%s is named', (_, ref, message) => {
    expect(problems(token(ref))).toEqual([message]);
  });

  test('a bad DATABASE_URL reference is named as the variable', () => {
    expect(problems({}, { DATABASE_URL: '${kms:}' })).toEqual(['store: environment variable DATABASE_URL names no secret: write ${kms:SECRET_NAME}']);
  });

  test('plain fields refuse ${kms:…}: only secrets come from KMS', () => {
    expect(problems({ sources: [{ kind: 'harbor', name: 'hb', url: '${kms:registry-url}' }], clouds: { alibaba: { endpoint: '${kms:endpoint}' } } })).toEqual([
      'sources[0].url: is not a secret: ${kms:…} references are taken by secret fields only; give the value or ${VAR}',
      'clouds.alibaba.endpoint: is not a secret: ${kms:…} references are taken by secret fields only; give the value or ${VAR}',
    ]);
  });

  test('clouds.alibaba.kms: region and endpoint where secrets are read', () => {
    expect(parseConfig({ clouds: { alibaba: { kms: { region: 'cn-shanghai', endpoint: 'https://kms-vpc.cn-shanghai.aliyuncs.com' } } } }, {}).clouds.alibaba?.kms).toEqual({
      region: 'cn-shanghai',
      endpoint: 'https://kms-vpc.cn-shanghai.aliyuncs.com',
    });
    expect(problems({ clouds: { alibaba: { kms: { region: 'mars-1', vault: 'x' } } } })).toEqual(['clouds.alibaba.kms.region: unknown region "mars-1"', 'clouds.alibaba.kms.vault: unknown field']);
  });

  test('a config with unresolved secrets cannot build the dependencies', () => {
    const config = parseConfig(token('${kms:ferry/webhook-token}'), {});
    expect(() => makeDeps({ config, ledger: {} as Ledger, clock: systemClock, log: createLogger() })).toThrow(
      "the config's ${kms:…} secrets (ferry/webhook-token) are not resolved: load it with loadResolvedConfig",
    );
  });
});

describe('loadResolvedConfig', () => {
  const file = join(dir, 'ferry.config.yaml');
  writeFileSync(file, ['auth:', '  webhookTokens: ["${kms:wh}"]', '  apiTokens: [{token: "${kms:api}", role: admin}, {token: "${kms:wh}", role: read}]', ''].join('\n'));

  test('asks for each distinct secret once, all at once, and validates with their values', async () => {
    const asked: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const config = await loadResolvedConfig({ path: file, env: {}, registerSecrets: false }, () => async (name) => {
      asked.push(name);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return `${name}-value-123`;
    });
    expect(asked.sort()).toEqual(['api', 'wh']);
    expect(maxInFlight).toBe(2);
    expect(config.kms).toEqual({
      resolved: true,
      refs: [
        { name: 'wh', fields: ['auth.webhookTokens[0]', 'auth.apiTokens[1].token'] },
        { name: 'api', fields: ['auth.apiTokens[0].token'] },
      ],
    });
    expect(config.auth.apiTokens.map((t) => t.token)).toEqual(['api-value-123', 'wh-value-123']);
  });

  test('a secret that cannot be read fails the load naming the fields and the secret, one problem per secret', async () => {
    const err = await loadResolvedConfig({ path: file, env: {}, registerSecrets: false }, () => async (name) => {
      if (name === 'api') throw new Error('KMS secret "api" not found in cn-hangzhou (Forbidden.ResourceNotFound): create it in KMS Secrets Manager there, or correct the name');
      return 'wh-value-123';
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: 'auth.apiTokens[0].token', message: 'KMS secret "api" not found in cn-hangzhou (Forbidden.ResourceNotFound): create it in KMS Secrets Manager there, or correct the name' },
    ]);
    expect((err as Error).message).not.toContain('wh-value-123');
  });

  test('a mistake in the file is reported before any secret is fetched', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'auth:\n  webhookTokens: ["${kms:wh}", "inline-token"]\n');
    let calls = 0;
    await expect(
      loadResolvedConfig({ path: bad, env: {} }, () => async () => {
        calls++;
        return 'x';
      }),
    ).rejects.toThrow(/auth\.webhookTokens\[1\]: must be a reference/);
    expect(calls).toBe(0);
  });
});
