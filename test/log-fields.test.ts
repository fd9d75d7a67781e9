// The log lines an operator queries (README "Log fields"), captured from real runs against the local
// cloud: a webhook → sweep → success, a refused submission (final failure), a throttled one (retry),
// the cloud-call lines with region and instance, and a delivery line with its images and, for a
// non-match, the reason. No line carries a secret.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, setLogSink } from '../shared/log.ts';
import { type NodeServer, serveNode } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { TEST_ENV, TEST_TOKENS, startTestStack, type TestStack } from './helpers/stack.ts';
import { fixture } from './webhook-harness.ts';

process.env.FERRY_LOG_LEVEL = 'info'; // the ledger's and the cloud clients' lines follow it

let stack: TestStack;
let server: NodeServer;
const lines: string[] = [];
let prevSink: ((l: string) => void) | undefined;

beforeAll(async () => {
  stack = await startTestStack();
  server = await serveNode(createWebhookApp({ ...stack.deps, log: createLogger({ service: 'ferry' }, 'info') }));
  prevSink = setLogSink((l) => lines.push(l));
});
afterAll(async () => {
  if (prevSink) setLogSink(prevSink);
  await server?.close();
  await stack?.close();
});
beforeEach(() => {
  stack.cloud.faults.clear();
  lines.length = 0;
});

type Line = Record<string, any>;
const parsed = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
const stateLines = (taskId: string) => parsed().filter((l) => l.msg === 'task state' && l.taskId === taskId);

/** An ACR trigger delivery of team/<repo>:<tag>, pushed at the source first so the digest is real. */
async function deliver(tag: string, repo = 'app'): Promise<{ status: number; body: any; digest: string }> {
  const pushed = await stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo, tag });
  const body = fixture('acr-trigger.json')
    .replaceAll('v1.2.3', tag)
    .replace(/sha256:[0-9a-f]{64}/, pushed.digest)
    .replace('"name": "app"', `"name": "${repo}"`);
  const res = await fetch(`${server.url}/webhooks/acr?source=acr-hangzhou`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.webhook}` }, body });
  return { status: res.status, body: await res.json(), digest: pushed.digest };
}

function expectNoSecret(): void {
  const all = lines.join('\n');
  for (const secret of [...Object.values(TEST_ENV), ...Object.values(TEST_TOKENS)]) {
    if (secret.length >= 8 && !/^LTAI/.test(secret)) expect(all, `a line carries ${secret}`).not.toContain(secret);
  }
  expect(all).not.toMatch(/Signature=|x-acs-signature|authorization/i);
}

describe('task state lines', () => {
  it('webhook → sweep → success: one line per change, with the image, target, rule, from/to and attempt', async () => {
    const d = await deliver('v41.0.0');
    expect(d.status).toBe(202);
    const target = d.body.replications[0].targets.find((t: any) => t.targetKey.includes('cri-localdst001'));
    const image = `acr-hangzhou/team/app:v41.0.0@${d.digest}`;
    const [recorded, ...submitted] = stateLines(target.taskId);
    expect(recorded).toMatchObject({ level: 'info', from: null, to: 'pending', attempt: 0, reason: 'recorded', image, rule: 'releases' });
    expect(submitted).toEqual([
      {
        level: 'info',
        time: expect.any(String),
        msg: 'task state',
        component: 'ledger',
        taskId: target.taskId,
        replicationId: d.body.replicationId,
        image,
        target: 'acr:cri-localdst001:cn-shanghai:team/app:v41.0.0',
        rule: 'releases',
        provider: 'acr',
        action: 'copy',
        from: 'pending',
        to: 'submitted',
        attempt: 1,
        reason: expect.any(String),
      },
    ]);

    stack.cloud.clock.advance(60_000);
    await runSweep(stack.deps);
    const after = stateLines(target.taskId);
    expect(after.at(-1)).toMatchObject({ level: 'info', image, rule: 'releases', to: 'succeeded', attempt: 1, target: 'acr:cri-localdst001:cn-shanghai:team/app:v41.0.0' });
    expect(after.at(-1)).not.toHaveProperty('code');
    // Each line follows on from the one before: no change is missed.
    for (let i = 1; i < after.length; i++) expect(after[i]!.from).toBe(after[i - 1]!.to);
    expect(after[0]!.from).toBe(null);
    expectNoSecret();
  });

  it('a refused submission: an error line with the cloud code, request id and message', async () => {
    stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 2, error: { status: 403, code: 'NoPrivilege' } });
    const d = await deliver('v42.0.0');
    expect(d.status).toBe(202);
    const target = d.body.replications[0].targets.find((t: any) => t.targetKey.includes('cri-localdst002'));
    expect(target.state).toBe('failed');
    const [recorded, line, ...rest] = stateLines(target.taskId);
    expect(recorded).toMatchObject({ from: null, to: 'pending', level: 'info' });
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'error',
      msg: 'task state',
      taskId: target.taskId,
      replicationId: d.body.replicationId,
      image: `acr-hangzhou/team/app:v42.0.0@${d.digest}`,
      target: 'acr:cri-localdst002:cn-beijing:team/app:v42.0.0',
      rule: 'releases',
      from: 'pending',
      to: 'failed',
      attempt: 1,
      code: 'NoPrivilege',
      requestId: expect.stringMatching(/.+/),
      message: expect.stringMatching(/.+/),
    });
    expect(line!.requestId).toBe(target.error.requestId);

    // An operator's retry re-opens it: an info line failed → pending, no error fields.
    lines.length = 0;
    await stack.ledger.rerunTask(target.taskId, { reason: 'permission fixed', actor: 'operator' });
    expect(stateLines(target.taskId)).toEqual([expect.objectContaining({ level: 'info', from: 'failed', to: 'pending', reason: 'permission fixed', image: line!.image, target: line!.target })]);
    expect(stateLines(target.taskId)[0]).not.toHaveProperty('code');
    expectNoSecret();
  });

  it('submitted → running in bulk (the sweep status pass): a line per task', async () => {
    const d = await deliver('v46.0.0');
    const ids: string[] = d.body.replications[0].targets.map((t: any) => t.taskId);
    const claimed = await stack.ledger.claimDue({ owner: 'log-test', leaseMs: 60_000, states: ['submitted'], limit: 50 });
    const mine = claimed.filter((t) => ids.includes(t.id)).map((t) => t.id);
    expect(mine.sort()).toEqual([...ids].sort());
    lines.length = 0;
    expect((await stack.ledger.markRunningMany(mine, { owner: 'log-test', cloudStatus: 'SYNCING', reason: 'cloud task SYNCING' })).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      expect(stateLines(id)).toEqual([expect.objectContaining({ level: 'info', from: 'submitted', to: 'running', rule: 'releases', attempt: 1, image: `acr-hangzhou/team/app:v46.0.0@${d.digest}` })]);
    }
  });

  it('a throttled submission left for later: a warn line (pending → pending) with the code', async () => {
    stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 20, error: { status: 400, code: 'Throttling.User' } });
    const d = await deliver('v43.0.0');
    expect(d.status).toBe(202);
    const taskIds: string[] = d.body.replications[0].targets.map((t: any) => t.taskId);
    const retries = taskIds.flatMap((id) => stateLines(id)).filter((l) => l.level === 'warn');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatchObject({ msg: 'task state', from: 'pending', to: 'pending', code: 'Throttling.User', rule: 'releases', image: `acr-hangzhou/team/app:v43.0.0@${d.digest}` });
    expectNoSecret();
  });
});

describe('cloud call lines', () => {
  it('carry the provider, region and instance of the call', async () => {
    await deliver('v44.0.0');
    const calls = parsed().filter((l) => l.msg === 'cloud call');
    const create = calls.find((l) => l.action === 'CreateRepoSyncTask');
    expect(create).toMatchObject({ level: 'info', component: 'cloud', provider: 'acr', region: 'cn-hangzhou', instance: 'cri-localsrc001', status: 200, requestId: expect.any(String) });
    for (const c of calls) expect(c.region, JSON.stringify(c)).toEqual(expect.any(String));
    expectNoSecret();
  });
});

describe('webhook delivery lines', () => {
  it('name the images of the delivery', async () => {
    const d = await deliver('v45.0.0');
    const line = parsed().find((l) => l.msg === 'webhook delivery');
    expect(line).toMatchObject({ level: 'info', kind: 'acr', images: [`acr-hangzhou/team/app:v45.0.0@${d.digest}`], matched: 2, created: 2 });
    expect(line).not.toHaveProperty('reason');
  });

  it('a non-match: the images and the reason the answer gives', async () => {
    const d = await deliver('nightly-1');
    expect(d.status).toBe(200);
    expect(d.body.reason).toEqual(expect.any(String));
    const line = parsed().find((l) => l.msg === 'webhook delivery');
    expect(line).toMatchObject({ kind: 'acr', images: [`acr-hangzhou/team/app:nightly-1@${d.digest}`], matched: 0, created: 0, reason: d.body.reason });
    expectNoSecret();
  });
});
