// End to end: `scripts/start.mjs` (what `npm start` runs: local/stack/start.ts, bundled) as a child process on the example
// config. A push simulated through the local cloud's admin API fires the ACR trigger → Ferry's
// webhook → CreateRepoSyncTask in both target instances → the sweep sees them finish → the API
// reports `succeeded`, and the tag exists in both targets. SIGINT then exits 0. The child's stdout
// must be JSON lines only and must never contain a token or secret value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
const ADMIN = 'dev-admin-token-0123456789';
const SECRETS = [
  'dev-webhook-token-0123456789',
  ADMIN,
  'dev-read-token-0123456789',
  'local-ferry-secret', // Alibaba AccessKey secret
  'local-ferry-password', // Huawei IAM password
];

let child: ChildProcess;
let stdout = '';
let stderr = '';
let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let apiUrl = '';
let cloudUrl = '';

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(FERRY_|DATABASE_URL$|ALIBABA_CLOUD_|HUAWEI|PORT$)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n--- stdout:\n${stdout.slice(-4000)}\n--- stderr:\n${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function logLines(): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: ROOT,
    env: { ...cleanEnv(), PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: join(dir, 'data'), FERRY_SWEEP_INTERVAL: '500', FERRY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // A first start also creates the ledger's database (a child process; ~10 s on a busy machine).
  const ready = await waitFor('the "local stack ready" line', () => logLines().find((l) => l.msg === 'local stack ready'), 60_000);
  apiUrl = String(ready.apiUrl);
  cloudUrl = String(ready.cloudUrl);
}, 65_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  rmSync(dir, { recursive: true, force: true });
});

interface TaskView {
  id: string;
  state: string;
  targetKey: string;
}

async function tasks(): Promise<TaskView[]> {
  const res = await request(`${apiUrl}/tasks`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { items: TaskView[] }).items;
}

describe('npm start, end to end', () => {
  it('prints the banner with the tokens and the copy-paste push on stderr', () => {
    expect(stderr).toContain('Ferry is running');
    expect(stderr).toContain(ADMIN);
    expect(stderr).toContain(`curl -X POST ${cloudUrl}/_local/acr/push`);
  });

  it('a push through the local cloud is replicated to both target instances', async () => {
    const res = await request(`${cloudUrl}/_local/acr/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v1.0.0' }),
    });
    const pushed = (await res.body.json()) as { digest: string; deliveries: { status?: number; error?: string }[] };
    expect(res.statusCode).toBe(200);
    expect(pushed.deliveries).toHaveLength(1);
    expect([200, 202]).toContain(pushed.deliveries[0]!.status);

    const done = await waitFor(
      'both tasks to succeed',
      async () => {
        const t = (await tasks()).filter((x) => x.targetKey.endsWith(':team/app:v1.0.0'));
        return t.length === 2 && t.every((x) => x.state === 'succeeded') ? t : undefined;
      },
      20_000,
      250,
    );
    expect(done.map((t) => t.targetKey).sort()).toEqual(['acr:cri-localdst001:cn-shanghai:team/app:v1.0.0', 'acr:cri-localdst002:cn-beijing:team/app:v1.0.0']);

    const state = (await (await request(`${cloudUrl}/_local/state`)).body.json()) as {
      services: { alibaba: { acr: { instances: { instanceId: string; namespaces: { name: string; repos: { name: string; tags: Record<string, string> }[] }[] }[] } } };
    };
    const tagsOf = (id: string) =>
      state.services.alibaba.acr.instances
        .find((i) => i.instanceId === id)
        ?.namespaces.find((n) => n.name === 'team')
        ?.repos.find((r) => r.name === 'app')?.tags ?? {};
    expect(tagsOf('cri-localdst001')['v1.0.0']).toBe(pushed.digest);
    expect(tagsOf('cri-localdst002')['v1.0.0']).toBe(pushed.digest);
  }, 30_000);

  it('logs structured JSON lines (requests, cloud calls) with ids and durations', () => {
    const lines = logLines();
    const hook = lines.find((l) => l.msg === 'http request' && l.path === '/webhooks/acr');
    expect(hook).toMatchObject({ level: 'info', method: 'POST', requestId: expect.any(String), durationMs: expect.any(Number), time: expect.any(String) });
    expect(lines.some((l) => l.component === 'local-cloud' && String(l.msg).startsWith('acr:CreateRepoSyncTask'))).toBe(true);
    // Ferry's own side of the same call: action, the cloud's request id, duration.
    const call = lines.find((l) => l.component === 'cloud' && l.action === 'CreateRepoSyncTask');
    expect(call).toMatchObject({ msg: 'cloud call', provider: 'acr', status: 200, requestId: expect.stringMatching(/^[0-9A-F-]{36}$/), durationMs: expect.any(Number) });
  });

  it('SIGINT shuts down cleanly with exit code 0, and stdout never carried a secret', async () => {
    child.kill('SIGINT');
    const { code } = await Promise.race([exit, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no exit after SIGINT\n${stderr.slice(-2000)}`)), 15_000))]);
    expect(code).toBe(0);
    expect(logLines().some((l) => l.msg === 'local stack stopped')).toBe(true);
    for (const s of SECRETS) expect(stdout.includes(s), `stdout contains ${s.slice(0, 6)}…`).toBe(false);
    expect(stdout.includes('token=')).toBe(false);
  }, 20_000);
});
