import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, parseConfig, parseConfigText, validateConfig, formatIssues, POLICY_DEFAULTS } from '../shared/config/index.ts';
import { redact } from '../shared/log.ts';
import { matchPush } from '../shared/rules/match.ts';

const ENV = { FERRY_WEBHOOK_TOKEN: 'wh-token-123', FERRY_API_TOKEN: 'api-token-456', AK: 'ak-id-789', SK: 'sk-secret-000' };

/** A small valid config; each invalid row mutates a fresh copy. */
function base(): any {
  return {
    sources: [
      { kind: 'acr', name: 'src', instanceId: 'cri-src0001', region: 'cn-hangzhou' },
      { kind: 'swr', name: 'swr', region: 'cn-north-4', namespaces: ['team'] },
      { kind: 'harbor', name: 'hb', host: 'harbor.example.com:8443' },
    ],
    rules: [{ name: 'r', source: 'src', tags: { include: ['v*'] }, targets: [{ provider: 'acr', instanceId: 'cri-dst0001', region: 'cn-shanghai' }] }],
  };
}

function problems(mutate: (c: any) => void, env: Record<string, string> = ENV): string[] {
  const c = base();
  mutate(c);
  const r = validateConfig(c, env);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('valid configs', () => {
  test('minimal: an empty document gives a usable default config', () => {
    const c = parseConfig({}, {});
    expect(c.sources).toEqual([]);
    expect(c.rules).toEqual([]);
    expect(c.defaults).toEqual(POLICY_DEFAULTS);
    expect(c.store).toEqual({ kind: 'pglite', dataDir: '.ferry', retentionDays: 30 });
    expect(c.webhook).toEqual({ submitBudgetMs: 2500, maxBodyBytes: 1024 * 1024 });
    expect(c.sweep.ecsWatch.taskActions).toEqual(['ImportImage', 'ExportImage']);
    expect(c.auth).toEqual({ webhookTokens: [], apiTokens: [] });
    expect('localCloud' in c).toBe(false);
    expect(c.secretValues).toEqual([]);
  });

  test('defaults are filled in rules, targets and policies; rule policy overrides global defaults field by field', () => {
    const c = parseConfig(
      {
        ...base(),
        defaults: { maxAttempts: 7, backoff: { initialSeconds: 10 } },
        rules: [
          { name: 'a', source: 'src', targets: [{ provider: 'acr', instanceId: 'cri-dst0001', region: 'cn-shanghai' }], policy: { backoff: { multiplier: 3 }, retryOnTimeout: false } },
          { name: 'b', source: 'swr', targets: [{ provider: 'swr', remoteRegion: 'cn-east-3' }] },
        ],
      },
      ENV,
    );
    const [a, b] = c.rules;
    expect(a!.namespace).toBe('**');
    expect(a!.repository).toBe('**');
    expect(a!.tags).toEqual({ include: [], exclude: [] });
    expect(a!.digestOnly).toBe(false);
    expect(a!.targets[0]).toEqual({ provider: 'acr', instanceId: 'cri-dst0001', region: 'cn-shanghai', namespace: '{namespace}', repo: '{repo}', tag: '{tag}', override: false });
    expect(a!.policy).toEqual({ maxAttempts: 7, backoff: { initialSeconds: 10, maxSeconds: 900, multiplier: 3 }, deadlineMinutes: 60, retryOnTimeout: false });
    expect(b!.targets[0]).toEqual({ provider: 'swr', remoteRegion: 'cn-east-3', remoteNamespace: '{namespace}', override: false });
    expect(b!.policy).toEqual({ maxAttempts: 7, backoff: { initialSeconds: 10, maxSeconds: 900, multiplier: 2 }, deadlineMinutes: 60, retryOnTimeout: true });
  });

  test('full config: secrets resolved from env, listed for masking, never in the document', () => {
    const env = {
      ...ENV,
      READ: 'read-token-1',
      HW_PW: 'hw-password',
      PG: 'postgres://u:pw@db/ferry',
      NOTIFY: 'https://oapi.dingtalk.com/robot/send?access_token=abc',
      DT: 'SECdingtalk',
      URL: 'http://127.0.0.1:8090',
    };
    const c = parseConfig(
      {
        ...base(),
        auth: {
          webhookTokens: ['${FERRY_WEBHOOK_TOKEN}', { token: '${READ}', sources: ['src'] }],
          apiTokens: [
            { name: 'ops', token: '${FERRY_API_TOKEN}', role: 'admin' },
            { token: '${READ}', role: 'read' },
          ],
        },
        clouds: {
          alibaba: { accessKeyId: '${AK}', accessKeySecret: '${SK}', endpoint: '${URL}' },
          huawei: { user: 'ferry', password: '${HW_PW}', domain: 'ferry-local', endpoints: { swr: 'http://127.0.0.1:8090', iam: '${URL}' } },
        },
        store: { databaseUrl: '${PG}', retentionDays: 7 },
        notifications: [
          { type: 'dingtalk', url: '${NOTIFY}', secret: '${DT}', on: ['failure', 'success'] },
          { type: 'slack', url: '${NOTIFY}' },
        ],
        sweep: { graceSeconds: 30, ecsWatch: { regions: ['cn-hangzhou'] } },
      },
      env,
    );
    expect(c.auth.webhookTokens).toEqual([{ token: 'wh-token-123' }, { token: 'read-token-1', sources: ['src'] }]);
    expect(c.auth.apiTokens).toEqual([
      { name: 'ops', token: 'api-token-456', role: 'admin' },
      { token: 'read-token-1', role: 'read' },
    ]);
    expect(c.clouds.alibaba).toEqual({ accessKeyId: 'ak-id-789', accessKeySecret: 'sk-secret-000', endpoint: 'http://127.0.0.1:8090' });
    expect(c.clouds.huawei).toEqual({
      auth: { type: 'password', user: 'ferry', password: 'hw-password', domain: 'ferry-local' },
      endpoints: { swr: 'http://127.0.0.1:8090', iam: 'http://127.0.0.1:8090' },
    });
    expect(c.store).toEqual({ kind: 'postgres', databaseUrl: 'postgres://u:pw@db/ferry', retentionDays: 7 });
    expect(c.notifications[0]).toEqual({ type: 'dingtalk', url: env.NOTIFY, secret: 'SECdingtalk', on: ['failure', 'success'], group: 'task' });
    expect(c.notifications[1]).toEqual({ type: 'slack', url: env.NOTIFY, on: ['failure'], group: 'task' });
    expect(c.sweep).toEqual({ graceSeconds: 30, budgetMs: 50_000, batchSize: 50, staleAfterSeconds: 600, ecsWatch: { regions: ['cn-hangzhou'], taskActions: ['ImportImage', 'ExportImage'] } });
    expect([...c.secretValues].sort()).toEqual(
      ['SECdingtalk', 'ak-id-789', 'api-token-456', 'hw-password', env.NOTIFY, 'postgres://u:pw@db/ferry', 'read-token-1', 'sk-secret-000', 'wh-token-123'].sort(),
    );
  });

  test('store falls back to env DATABASE_URL, which then counts as a secret', () => {
    const c = parseConfig({}, { DATABASE_URL: 'postgres://x:y@h/d' });
    expect(c.store).toEqual({ kind: 'postgres', databaseUrl: 'postgres://x:y@h/d', retentionDays: 30 });
    expect(c.secretValues).toEqual(['postgres://x:y@h/d']);
  });

  test('huawei AK/SK credentials', () => {
    const c = parseConfig({ clouds: { huawei: { accessKey: '${AK}', secretKey: '${SK}' } } }, ENV);
    expect(c.clouds.huawei?.auth).toEqual({ type: 'aksk', accessKey: 'ak-id-789', secretKey: 'sk-secret-000' });
  });

  test('JSON and YAML texts give the same config', () => {
    const yaml = `
sources:
  - { kind: acr, name: src, instanceId: cri-src0001, region: cn-hangzhou }
rules:
  - name: r
    source: src
    tags: { include: ['/^\\d+$/'] }
    targets: [{ provider: acr, instanceId: cri-dst0001, region: cn-shanghai }]
auth: { webhookTokens: ['\${FERRY_WEBHOOK_TOKEN}'] }
`;
    const fromYaml = parseConfigText(yaml, 'yaml', ENV);
    const json = JSON.stringify({
      sources: [{ kind: 'acr', name: 'src', instanceId: 'cri-src0001', region: 'cn-hangzhou' }],
      rules: [{ name: 'r', source: 'src', tags: { include: ['/^\\d+$/'] }, targets: [{ provider: 'acr', instanceId: 'cri-dst0001', region: 'cn-shanghai' }] }],
      auth: { webhookTokens: ['${FERRY_WEBHOOK_TOKEN}'] },
    });
    expect(parseConfigText(json, 'json', ENV)).toEqual(fromYaml);
    expect(fromYaml.rules[0]!.tags.include).toEqual(['/^\\d+$/']);
  });
});

// Every row: a mutation of base() and the EXACT list of problems it must produce.
const INVALID: [string, (c: any) => void, string[], Record<string, string>?][] = [
  ['unknown ACR region', (c) => c.rules[0].targets.push({ provider: 'acr', instanceId: 'cri-dst0002', region: 'cn-shangai' }), ['rules[0].targets[1].region: unknown region "cn-shangai"']],
  ['unknown source region', (c) => (c.sources[0].region = 'cn-north-4'), ['sources[0].region: unknown region "cn-north-4"']],
  ['unknown Huawei region', (c) => (c.sources[1].region = 'cn-hangzhou'), ['sources[1].region: unknown Huawei Cloud region "cn-hangzhou"']],
  ['bad instanceId', (c) => (c.sources[0].instanceId = 'cri_X'), ['sources[0].instanceId: must look like "cri-" followed by 4 to 32 lowercase letters or digits']],
  [
    'inline webhook token',
    (c) => (c.auth = { webhookTokens: ['hunter2hunter2'] }),
    ['auth.webhookTokens[0]: must be a reference like ${FERRY_WEBHOOK_TOKEN} or ${kms:SECRET_NAME}, not an inline secret'],
  ],
  [
    'inline scoped token + unknown scope source',
    (c) => (c.auth = { webhookTokens: [{ token: 'hunter2hunter2', sources: ['nope'] }] }),
    [
      'auth.webhookTokens[0].token: must be a reference like ${FERRY_WEBHOOK_TOKEN} or ${kms:SECRET_NAME}, not an inline secret',
      'auth.webhookTokens[0].sources[0]: unknown source "nope" (configured: src, swr, hb)',
    ],
  ],
  [
    'inline cloud secret',
    (c) => (c.clouds = { alibaba: { accessKeyId: '${AK}', accessKeySecret: 'LTAIsecretvalue' } }),
    ['clouds.alibaba.accessKeySecret: must be a reference like ${ALIBABA_CLOUD_ACCESS_KEY_SECRET} or ${kms:SECRET_NAME}, not an inline secret'],
  ],
  [
    'inline notification url',
    (c) => (c.notifications = [{ type: 'webhook', url: 'https://hooks.example.com/x' }]),
    ['notifications[0].url: must be a reference like ${FERRY_NOTIFY_URL} or ${kms:SECRET_NAME}, not an inline secret'],
  ],
  ['missing env var', (c) => (c.auth = { apiTokens: [{ token: '${FERRY_ADMIN}', role: 'admin' }] }), ['auth.apiTokens[0].token: environment variable FERRY_ADMIN is not set']],
  ['empty env var', (c) => (c.auth = { webhookTokens: ['${EMPTY}'] }), ['auth.webhookTokens[0]: environment variable EMPTY is not set'], { EMPTY: '' }],
  ['unknown source in rule', (c) => (c.rules[0].source = 'srcc'), ['rules[0].source: unknown source "srcc" (configured: src, swr, hb)']],
  ['source glob matching nothing', (c) => (c.rules[0].source = 'prod-*'), ['rules[0].source: "prod-*" matches no configured source']],
  ['bad regex', (c) => (c.rules[0].tags.include = ['v*', '/(/']), ['rules[0].tags.include[1]: invalid regular expression: /(/: Unterminated group']],
  ['unclosed regex', (c) => (c.rules[0].tags.exclude = ['/rc']), ['rules[0].tags.exclude[0]: "/rc" looks like a regular expression but has no closing "/"']],
  [
    'regex that needs backtracking',
    (c) => {
      c.rules[0].tags.include = ['/(a+)+$/', '/^(v\\d+)-\\1$/'];
      c.rules[0].repository = '/^(?!tmp-)/';
    },
    [
      'rules[0].tags.include[1]: regular expression /^(v\\d+)-\\1$/: backreferences (\\1, \\2, …) are not supported (patterns are matched in linear time)',
      'rules[0].repository: regular expression /^(?!tmp-)/: lookahead and lookbehind, (?=…) (?!…) (?<=…) (?<!…), are not supported (patterns are matched in linear time)',
    ],
  ],
  [
    'unknown template placeholder',
    (c) => (c.rules[0].targets[0].repo = 'mirror/{image}'),
    ['rules[0].targets[0].repo: unknown placeholder {image} (known: {namespace}, {repo}, {repository}, {repo_last}, {tag}, {source}, {digest})'],
  ],
  ['unclosed template', (c) => (c.rules[0].targets[0].tag = '{tag'), ['rules[0].targets[0].tag: unclosed "{" at position 1']],
  ['literal target name invalid', (c) => (c.rules[0].targets[0].namespace = 'Team'), ['rules[0].targets[0].namespace: must be lowercase letters and digits, separated by single ".", "_" or "-"']],
  [
    'duplicate names',
    (c) => {
      c.sources.push({ ...c.sources[0] });
      c.rules.push({ ...c.rules[0] });
    },
    ['sources[3].name: duplicate source name "src" (also sources[0])', 'rules[1].name: duplicate rule name "r" (also rules[0])'],
  ],
  [
    'wrong types',
    (c) => {
      c.rules[0].digestOnly = 'yes';
      c.webhook = { submitBudgetMs: '3s' };
      c.sources[1].namespaces = 'team';
    },
    ['sources[1].namespaces: must be a list, not string', 'rules[0].digestOnly: must be true or false, not string', 'webhook.submitBudgetMs: must be a number, not string'],
  ],
  [
    'maxAttempts out of range',
    (c) => {
      c.rules[0].policy = { maxAttempts: 21 };
      c.defaults = { maxAttempts: 0, deadlineMinutes: 1.5 };
    },
    ['rules[0].policy.maxAttempts: must be at most 20', 'defaults.maxAttempts: must be at least 1', 'defaults.deadlineMinutes: must be an integer, not number'],
  ],
  ['backoff max below initial', (c) => (c.defaults = { backoff: { initialSeconds: 100, maxSeconds: 10 } }), ['defaults.backoff.maxSeconds: must be at least initialSeconds (100)']],
  [
    'missing / empty targets',
    (c) => {
      delete c.rules[0].targets;
      c.rules.push({ name: 'b', source: 'src', targets: [] });
    },
    ['rules[0].targets: is required', 'rules[1].targets: must not be empty'],
  ],
  [
    'unknown notification type, missing type',
    (c) => (c.notifications = [{ type: 'email', url: '${AK}' }, { url: '${AK}' }]),
    ['notifications[0].type: must be one of "webhook", "slack", "dingtalk"', 'notifications[1].type: is required (one of "webhook", "slack", "dingtalk")'],
  ],
  [
    'unknown fields',
    (c) => {
      c.rules[0].policy = { maxAttempt: 2 };
      c.extra = 1;
    },
    ['rules[0].policy.maxAttempt: unknown field', 'extra: unknown field'],
  ],
  ['unknown source kind', (c) => c.sources.push({ kind: 'gitlab', name: 'g' }), ['sources[3].kind: must be one of "acr", "swr", "harbor", "distribution", "dockerhub"']],
  ['unknown api role', (c) => (c.auth = { apiTokens: [{ token: '${AK}', role: 'root' }] }), ['auth.apiTokens[0].role: must be one of "admin", "read"']],
  [
    'target the rule source cannot feed; SWR region mismatch',
    (c) =>
      c.rules.push({
        name: 's',
        source: 'swr',
        targets: [
          { provider: 'swr', region: 'cn-east-3', remoteRegion: 'cn-east-3' },
          { provider: 'acr', instanceId: 'cri-dst0001', region: 'cn-shanghai' },
        ],
      }),
    [
      'rules[1].targets[0].region: source "swr" is in cn-north-4, not cn-east-3',
      'rules[1].targets[1].provider: an ACR target copies from an ACR source, but "swr" is an SWR source; Ferry can copy it itself: provider: copy, registry: <the ACR source to copy to> (configured: src)',
    ],
  ],
  [
    'mirrorOf must name an ACR or SWR source',
    (c) => c.sources.push({ kind: 'distribution', name: 'd1', mirrorOf: 'hb' }, { kind: 'dockerhub', name: 'd2', mirrorOf: 'nope' }),
    ['sources[3].mirrorOf: must name an ACR or SWR source, but "hb" is a Harbor source', 'sources[4].mirrorOf: unknown source "nope" (configured: src, swr, hb, d1, d2)'],
  ],
  [
    'generic registry cannot feed ACR',
    (c) => (c.rules[0].source = 'hb'),
    [
      'rules[0].targets[0].provider: an ACR target copies from an ACR source, but "hb" is a Harbor source; Ferry can copy it itself: provider: copy, registry: <the ACR source to copy to> (configured: src)',
    ],
  ],
  [
    'half credentials, bad endpoint',
    (c) => (c.clouds = { huawei: { accessKey: '${AK}' }, alibaba: { accessKeyId: '${AK}', endpoint: 'ftp://x' } }),
    [
      'clouds.huawei.secretKey: is required with accessKey',
      'clouds.alibaba.endpoint: must be an http(s) URL',
      // a field the document lacks is reported after those it has
      'clouds.alibaba.accessKeySecret: is required when the other half of the AccessKey pair is given',
    ],
  ],
  ['no huawei credentials', (c) => (c.clouds = { huawei: {} }), ['clouds.huawei: give either accessKey and secretKey, or user, password and domain']],
  [
    'not a mapping',
    (c) => {
      c.sources = 'x';
      c.rules = 5;
    },
    ['sources: must be a list, not string', 'rules: must be a list, not number'],
  ],
];

describe('invalid configs: every problem, exact message, document order', () => {
  test.each(INVALID)('%s', (_name, mutate, expected, env) => {
    expect(problems(mutate, env ?? ENV)).toEqual(expected);
  });

  test('the table is big enough', () => expect(INVALID.length).toBeGreaterThanOrEqual(15));

  test('all problems of a file arrive together in one ConfigError, one per line, no stack, no secret', () => {
    const c = base();
    c.rules[0].targets[0].region = 'cn-shangai';
    c.auth = { webhookTokens: ['inline-secret-value', '${MISSING_ONE}'], apiTokens: [{ token: '${FERRY_API_TOKEN}', role: 'admin' }] };
    let err: unknown;
    try {
      parseConfig(c, ENV, 'ferry.config.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message.split('\n')).toEqual([
      'invalid Ferry config ferry.config.yaml (3 problems):',
      'rules[0].targets[0].region: unknown region "cn-shangai"',
      'auth.webhookTokens[0]: must be a reference like ${FERRY_WEBHOOK_TOKEN} or ${kms:SECRET_NAME}, not an inline secret',
      'auth.webhookTokens[1]: environment variable MISSING_ONE is not set',
    ]);
    expect(e.stack).toBe(`ConfigError: ${e.message}`);
    expect(e.message).not.toContain('inline-secret-value');
    expect(e.message).not.toContain(ENV.FERRY_API_TOKEN);
    expect(formatIssues(e.issues)).toBe(e.message.split('\n').slice(1).join('\n'));
  });

  test('YAML syntax errors name the line', () => {
    const text = 'sources:\n  - kind: acr\n    name: [unclosed\nrules: []\n';
    expect(() => parseConfigText(text, 'yaml', ENV)).toThrow(ConfigError);
    try {
      parseConfigText('rules:\n  - name: a\n   source: b\n', 'yaml', ENV);
    } catch (e) {
      expect(formatIssues((e as ConfigError).issues)).toBe('line 3, column 1: YAML syntax error: Sequence item without - indicator; nothing else is checked until it is fixed');
    }
    try {
      parseConfigText('a: 1\na: 2\n', 'yaml', ENV);
    } catch (e) {
      expect(formatIssues((e as ConfigError).issues)).toBe('line 2, column 1: YAML syntax error: Map keys must be unique; nothing else is checked until it is fixed');
    }
    expect.assertions(4);
    expect(() => parseConfigText(text, 'yaml', ENV)).toThrow(
      'invalid Ferry config (1 problem):\nline 4, column 1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; nothing else is checked until it is fixed',
    );
  });

  test('JSON syntax errors name the line', () => {
    try {
      parseConfigText('{\n  "rules": [,]\n}', 'json', ENV);
    } catch (e) {
      expect(formatIssues((e as ConfigError).issues)).toBe('line 2, column 13: JSON syntax error: Unexpected character');
    }
    try {
      parseConfigText('{"auth": {"webhookTokens": ["inline-secret" "x"]}}', 'json', ENV);
    } catch (e) {
      expect(formatIssues((e as ConfigError).issues)).toBe("line 1, column 45: JSON syntax error: Expected ',' or ']' after array element");
    }
    expect.assertions(2);
  });
});

describe('loadConfig: a syntax error says where, never what, and comes alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-syntax-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const example = readFileSync(join(import.meta.dirname, '..', 'examples', 'ferry.config.yaml'), 'utf8');
  const load = (name: string, text: string): ConfigError => {
    writeFileSync(join(dir, name), text);
    try {
      loadConfig({ path: join(dir, name), env: ENV, registerSecrets: false });
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('loaded');
  };

  test('a pasted list item above the example: 265 parser errors, one of them quoting an inline token; one problem reported, no value', () => {
    const text = example.replace('token: ${FERRY_API_TOKEN}', 'token: inline-S3CRET-api-0002').replace('sources:\n', '- token: inline-S3CRET-webhook-0001\nsources:\n');
    const e = load('pasted.yaml', text);
    expect(e.issues).toEqual([{ path: 'line 9, column 1', message: 'YAML syntax error: Unexpected scalar at node end; nothing else is checked until it is fixed' }]);
    expect(e.message).toContain('(1 problem)');
    expect(e.message).not.toContain('S3CRET');
  });

  test('the first error quoting the value (a password starting with > or *): located, not quoted', () => {
    // The example's password line, wherever it is.
    const line = example.split('\n').findIndex((l) => l.includes('password: ${FERRY_LAN_REGISTRY_PASSWORD}')) + 1;
    for (const [value, at] of [
      ['>Lan-S3cr3t', `line ${line}, column 16`],
      ['|Lan-S3cr3t', `line ${line}, column 16`],
      ['*Lan-S3cr3t', `line ${line}, column 15`],
    ] as const) {
      const text = example.replace('password: ${FERRY_LAN_REGISTRY_PASSWORD}', `password: ${value}`);
      expect(text.split('\n')[line - 1]).toBe(`    password: ${value}`);
      const e = load('password.yaml', text);
      expect(e.issues).toHaveLength(1);
      expect(e.issues[0]!.path).toBe(at);
      expect(e.message).not.toContain('S3cr3t');
    }
  });

  test('one missing ] in the example: one problem, at the line after it', () => {
    const e = load('bracket.yaml', example.replace('namespaces: [team]', 'namespaces: [team'));
    // The next line that is not a comment: where the parser finds the sequence unfinished.
    const lines = example.split('\n');
    const at = lines.findIndex((l, i) => i > lines.findIndex((x) => x.includes('namespaces: [team]')) && !l.trim().startsWith('#'));
    expect(e.issues).toEqual([
      {
        path: `line ${at + 1}, column ${lines[at]!.search(/\S/) + 1}`,
        message: 'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; nothing else is checked until it is fixed',
      },
    ]);
  });
});

describe('the local cloud section is not part of a deployed config', () => {
  test('parseConfig refuses localCloud as an unknown key', () => {
    const r = validateConfig({ localCloud: { speed: 10 } }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatIssues(r.issues)).toMatch(/localCloud/);
  });
});

describe('loadConfig: FERRY_CONFIG vs working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
  const cwdDir = join(dir, 'cwd');
  mkdirSync(cwdDir);
  writeFileSync(join(cwdDir, 'ferry.config.yaml'), 'rules: []\nwebhook: { submitBudgetMs: 1111 }\n');
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ webhook: { submitBudgetMs: 2222 } }));

  test('cwd ferry.config.yaml when FERRY_CONFIG is unset', () => {
    const c = loadConfig({ cwd: cwdDir, env: {}, registerSecrets: false });
    expect(c.webhook.submitBudgetMs).toBe(1111);
    expect(c.file).toBe(join(cwdDir, 'ferry.config.yaml'));
  });

  test('FERRY_CONFIG wins over the cwd file (relative to cwd; .json read as JSON)', () => {
    const c = loadConfig({ cwd: cwdDir, env: { FERRY_CONFIG: '../other.json' }, registerSecrets: false });
    expect(c.webhook.submitBudgetMs).toBe(2222);
  });

  test('explicit path wins over FERRY_CONFIG', () => {
    const c = loadConfig({ path: join(cwdDir, 'ferry.config.yaml'), env: { FERRY_CONFIG: join(dir, 'other.json') }, registerSecrets: false });
    expect(c.webhook.submitBudgetMs).toBe(1111);
  });

  test('a missing file fails clearly; allowMissing gives defaults', () => {
    expect(() => loadConfig({ cwd: cwdDir, env: { FERRY_CONFIG: 'nope.yaml' } })).toThrow(`FERRY_CONFIG: file ${join(cwdDir, 'nope.yaml')} not found`);
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(`(config): no ferry.config.yaml in ${dir}; set FERRY_CONFIG to the config file's path`);
    expect(loadConfig({ cwd: dir, env: {}, allowMissing: true }).rules).toEqual([]);
  });

  test('errors in a file carry its name', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - name: r\n    source: nowhere\n    targets: [{ provider: acr, instanceId: cri-dst0001, region: cn-shanghai }]\n');
    expect(() => loadConfig({ cwd: dir, env: { FERRY_CONFIG: 'bad.yaml' } })).toThrow(
      `invalid Ferry config ${join(dir, 'bad.yaml')} (1 problem):\nrules[0].source: unknown source "nowhere" (no sources are configured)`,
    );
  });

  test('loaded secrets are registered with the logger mask', () => {
    writeFileSync(join(dir, 'secret.yaml'), 'auth:\n  webhookTokens: ["${TOKEN_FOR_MASK}"]\n');
    loadConfig({ cwd: dir, env: { FERRY_CONFIG: 'secret.yaml', TOKEN_FOR_MASK: 'mask-me-please-42' } });
    expect(redact({ msg: 'url /webhook?token=mask-me-please-42' })).toEqual({ msg: 'url /webhook?token=***' });
  });
});

describe('examples/ferry.config.yaml', () => {
  const root = resolve(import.meta.dirname, '..');
  const env = Object.fromEntries(
    readFileSync(join(root, 'examples/local.env'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

  test('is valid with examples/local.env and replicates a release tag, not an rc', () => {
    const c = loadConfig({ cwd: root, env, registerSecrets: false });
    expect(c.file).toBe(join(root, 'examples/ferry.config.yaml'));
    expect(c.clouds.alibaba).toEqual({ accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret', endpoint: env.FERRY_LOCAL_CLOUD_URL });
    const push = { sourceKind: 'acr' as const, source: 'acr-hangzhou', namespace: 'team', repository: 'app', digest: 'sha256:' + 'a'.repeat(64), pushedAt: new Date() };
    const keys = (tag: string) => matchPush({ ...push, tag }, c).map((m) => (m.ok ? m.targetKey : m.reason));
    expect(keys('v1.2.3')).toEqual(['acr:cri-localdst001:cn-shanghai:team/app:v1.2.3', 'acr:cri-localdst002:cn-beijing:team/app:v1.2.3']);
    expect(keys('2.0.1')).toHaveLength(2);
    expect(keys('v1.2.3-rc1')).toEqual([]);
    expect(keys('latest')).toEqual([]);
    const swr = matchPush({ sourceKind: 'swr', source: 'swr-beijing', namespace: 'team', repository: 'app', tag: 'latest', pushedAt: new Date() }, c);
    expect(swr.map((m) => m.ok && m.targetKey)).toEqual(['swr:cn-north-4>cn-east-3:team/app:latest']);
  });

  test('local cloud keys in local.env are the seed defaults', async () => {
    const { defaultSeed } = await import('../local/cloud/seed.ts');
    const seed = defaultSeed();
    expect(env.ALIBABA_CLOUD_ACCESS_KEY_ID).toBe(seed.alibaba.accounts[0]!.accessKeyId);
    expect(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET).toBe(seed.alibaba.accounts[0]!.accessKeySecret);
    expect(env.HUAWEICLOUD_SDK_AK).toBe(seed.huawei.credentials[0]!.accessKey);
    expect(env.HUAWEICLOUD_SDK_SK).toBe(seed.huawei.credentials[0]!.secretKey);
  });

  test('without its env the example names every missing variable', () => {
    expect(() => loadConfig({ cwd: root, env: { FERRY_CONFIG: 'examples/ferry.config.yaml' }, registerSecrets: false })).toThrow(
      /auth\.webhookTokens\[0\]\.token: environment variable FERRY_WEBHOOK_TOKEN is not set\n[\s\S]*clouds\.alibaba\.endpoint: environment variable FERRY_LOCAL_CLOUD_URL is not set/,
    );
  });
});
