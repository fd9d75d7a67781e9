// The local stack's wiring (local/stack/stack.ts) with stand-in apps: config + local.env defaults,
// the local cloud's URL in the config, one server routing /webhooks/* vs the API, the ACR trigger
// registered in the local cloud, request logs without query strings, the sweep loop, shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { setLogSink } from '../shared/log.ts';
import { startLocalStack, type FerryApps, type LocalStack } from '../local/stack/stack.ts';
import { durationSetting, parseEnvFile, portSetting } from '../local/stack/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-stack-'));
const lines: string[] = [];
process.env.FERRY_LOG_LEVEL = 'info'; // these tests read the request and sweep lines
const prevSink = setLogSink((l) => lines.push(l));

interface Seen {
  url: string;
  body: string;
}
const webhookSeen: Seen[] = [];
const apiSeen: string[] = [];
let sweeps = 0;
let concurrent = 0;
let maxConcurrent = 0;
let sweepFinished = 0;

const apps: FerryApps = {
  createWebhookApp: () => async (req) => {
    webhookSeen.push({ url: req.url, body: await req.text() });
    return Response.json({ accepted: true }, { status: 202 });
  },
  createApiApp: (deps) => async (req) => {
    apiSeen.push(new URL(req.url).pathname);
    return Response.json({ ok: true, workerId: deps.workerId });
  },
  runSweep: async () => {
    sweeps++;
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise((r) => setTimeout(r, 150));
    concurrent--;
    sweepFinished++;
    return { claimed: 0 };
  },
};

let stack: LocalStack;
let banner = '';

beforeAll(async () => {
  stack = await startLocalStack({
    env: { PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: join(dir, 'data'), FERRY_SWEEP_INTERVAL: '100ms' },
    apps,
    print: (t) => (banner += t),
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  setLogSink(prevSink);
  rmSync(dir, { recursive: true, force: true });
});

describe('startLocalStack on the example config', () => {
  it('points the example config at the local cloud it started and opens PGlite under the data dir', async () => {
    expect(stack.config.clouds.alibaba?.endpoint).toBe(stack.cloudUrl);
    expect(stack.config.clouds.huawei?.endpoints).toEqual({ swr: stack.cloudUrl, iam: stack.cloudUrl });
    expect(stack.config.clouds.huawei?.auth).toMatchObject({ type: 'aksk', accessKey: 'HWLOCALFERRYAK' });
    expect(stack.config.sources.find((s) => s.name === 'lan')).toMatchObject({ url: stack.cloud.registries.generic.lan });
    expect(existsSync(join(dir, 'data', 'ledger'))).toBe(true);
    expect((await stack.ledger.health()).backend).toBe('pglite');
  });

  it('prints the URLs, the development tokens and a copy-paste push', () => {
    expect(banner).toContain(`Ferry API    ${stack.apiUrl}`);
    expect(banner).toContain(`Status page  ${stack.apiUrl}/ui  (sign in with an API token below)`);
    expect(banner).toContain(stack.cloudUrl);
    for (const t of ['dev-webhook-token-0123456789', 'dev-admin-token-0123456789', 'dev-read-token-0123456789']) expect(banner).toContain(t);
    expect(banner).toContain(`curl -X POST ${stack.cloudUrl}/_local/acr/push -H 'content-type: application/json' -d '{"instanceId":"cri-localsrc001","namespace":"team","repo":"app","tag":"v1.0.0"}'`);
    expect(banner).toContain(`FERRY_URL=${stack.apiUrl} FERRY_API_TOKEN=dev-admin-token-0123456789 npx ferry tasks`);
    expect(banner).toContain('every 100 ms');
    // The trigger line shows where it points, not the token.
    expect(banner).toMatch(/ACR trigger\s+cri-localsrc001 team\/app → http:\/\/127\.0\.0\.1:\d+\/webhooks\/acr\?token=…&instance=cri-localsrc001/);
  });

  it('a push in the local cloud reaches the webhook app through the registered trigger', async () => {
    const res = await request(`${stack.cloudUrl}/_local/acr/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v1.0.0' }),
    });
    const out = (await res.body.json()) as { deliveries: { status: number }[] };
    expect(res.statusCode).toBe(200);
    expect(out.deliveries.map((d) => d.status)).toEqual([202]);
    expect(webhookSeen).toHaveLength(1);
    const url = new URL(webhookSeen[0]!.url);
    expect(url.pathname).toBe('/webhooks/acr');
    expect(url.searchParams.get('token')).toBe('dev-webhook-token-0123456789');
    expect(url.searchParams.get('instance')).toBe('cri-localsrc001');
    expect(JSON.parse(webhookSeen[0]!.body)).toMatchObject({ push_data: { tag: 'v1.0.0' }, repository: { namespace: 'team', name: 'app' } });
  });

  it('routes everything else to the API app and logs each request without its query string', async () => {
    const res = await request(`${stack.apiUrl}/tasks?state=running`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ ok: true, workerId: `local-${process.pid}` });
    expect(apiSeen).toContain('/tasks');
    const http = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'http request');
    expect(http).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'POST', path: '/webhooks/acr', status: 202, level: 'info', component: 'http', requestId: expect.any(String), durationMs: expect.any(Number) }),
        expect.objectContaining({ method: 'GET', path: '/tasks', status: 200 }),
      ]),
    );
    const all = lines.join('\n');
    expect(all).not.toContain('dev-webhook-token-0123456789');
    expect(all).not.toContain('?token');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('runs the sweep on its interval, never two at once', async () => {
    const before = sweeps;
    await new Promise((r) => setTimeout(r, 800));
    expect(sweeps - before).toBeGreaterThanOrEqual(2);
    expect(maxConcurrent).toBe(1);
  });

  it('close() waits for the running sweep, then nothing listens any more', async () => {
    // Catch a sweep in flight.
    while (concurrent === 0) await new Promise((r) => setTimeout(r, 10));
    const finishedBefore = sweepFinished;
    await stack.close();
    expect(sweepFinished).toBe(finishedBefore + 1);
    const after = sweeps;
    await new Promise((r) => setTimeout(r, 300));
    expect(sweeps).toBe(after);
    await expect(request(`${stack.apiUrl}/tasks`)).rejects.toThrow();
    await expect(request(`${stack.cloudUrl}/_local/state`)).rejects.toThrow();
    expect(lines.some((l) => l.includes('"local stack stopped"'))).toBe(true);
  });
});

describe('startLocalStack with an operator config', () => {
  it('generates development tokens when the config has none, and uses FERRY_LOCAL_CLOUD_URL as given', async () => {
    const cfg = join(dir, 'bare.yaml');
    writeFileSync(cfg, 'sources:\n  - { kind: acr, name: src, instanceId: cri-localsrc001, region: cn-hangzhou }\nclouds:\n  alibaba: { endpoint: "${FERRY_LOCAL_CLOUD_URL}" }\n');
    let text = '';
    const s = await startLocalStack({
      env: {
        FERRY_CONFIG: cfg,
        PORT: '0',
        FERRY_CLOUD_PORT: '0',
        FERRY_DATA_DIR: join(dir, 'bare'),
        FERRY_LOCAL_CLOUD_URL: 'http://127.0.0.1:1',
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'k',
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'operator-own-secret',
      },
      apps,
      print: (t) => (text += t),
    });
    try {
      expect(s.config.clouds.alibaba?.endpoint).toBe('http://127.0.0.1:1');
      const [webhook, admin] = [s.config.auth.webhookTokens[0]!.token, s.config.auth.apiTokens[0]!.token];
      expect(webhook).toMatch(/^dev-webhook-[0-9a-f]{24}$/);
      expect(admin).toMatch(/^dev-admin-[0-9a-f]{24}$/);
      expect(text).toContain(webhook);
      expect(text).toContain(`FERRY_API_TOKEN=${admin}`);
      expect(text).not.toContain('examples/local.env');
      expect(s.triggers.map((t) => `${t.instanceId}/${t.namespace}/${t.repo}`)).toEqual(['cri-localsrc001/team/app', 'cri-localsrc001/team/web']);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('refuses a bad setting or config clearly, leaving nothing listening', async () => {
    await expect(startLocalStack({ env: { PORT: 'eighty' }, apps, print: () => {} })).rejects.toThrow('PORT must be a port number 0–65535, got "eighty"');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'auth:\n  webhookTokens: ["inline"]\n');
    await expect(startLocalStack({ env: { FERRY_CONFIG: bad, PORT: '0', FERRY_CLOUD_PORT: '0' }, apps, print: () => {} })).rejects.toThrow(/auth\.webhookTokens\[0\]: must be a reference/);
  });
});

describe('local stack settings', () => {
  it('parses env files, ports and durations', () => {
    expect(parseEnvFile('# c\n\nA=1\nB = x=y \n')).toEqual({ A: '1', B: 'x=y' });
    expect(() => parseEnvFile('nonsense', 'f.env')).toThrow('f.env:1: expected KEY=VALUE');
    expect(portSetting({}, 'PORT', 8080)).toBe(8080);
    expect(portSetting({ PORT: '0' }, 'PORT', 8080)).toBe(0);
    expect(() => portSetting({ PORT: '70000' }, 'PORT', 1)).toThrow(/PORT must be a port number/);
    expect(durationSetting({}, 'D', 5000)).toBe(5000);
    expect(durationSetting({ D: '500' }, 'D', 1)).toBe(500);
    expect(durationSetting({ D: '2s' }, 'D', 1)).toBe(2000);
    expect(durationSetting({ D: '1m' }, 'D', 1)).toBe(60_000);
    expect(() => durationSetting({ D: '5 sec' }, 'D', 1)).toThrow('D must be a duration like 500, 500ms, 5s or 1m, got "5 sec"');
    expect(() => durationSetting({ D: '10' }, 'D', 1)).toThrow('D must be at least 100 ms');
  });
});
