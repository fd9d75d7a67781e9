/**
 * Re-running finished tasks over real HTTP, with the real ledger and the local cloud: a retried task is
 * submitted again exactly once, concurrent retries re-open it once, the bulk form filters by rule and
 * time and pages, and a redelivered push re-opens only its failed targets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureAccountLimiters, resetAccountLimiters } from '../shared/clients/transport.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { main } from '../shared/cli/main.ts';
import { nextTag, startApiStack, type ApiStack } from './api-helpers.ts';
import { fixture } from './webhook-harness.ts';
import { TEST_TOKENS } from './helpers/stack.ts';

let s: ApiStack;
let webhook: NodeServer;

const BULK_RULES = ['bulk-a', 'bulk-b'].map((name) => ({
  name,
  source: 'acr-hangzhou',
  namespace: name,
  targets: [{ provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing' }],
}));

beforeAll(async () => {
  // The webhook submits only what the account limiter has room for now (the rest goes to the sweep);
  // these tests assert what the webhook itself submitted, so the cloud's rate is not what is under test.
  s = await startApiStack({ config: (c) => ({ ...c, rules: [...(c.rules as object[]), ...BULK_RULES] }) });
  configureAccountLimiters({ ratePerSecond: 10_000, burst: 10_000 }); // after the stack, which resets them
  webhook = await serveNode(createWebhookApp(s.deps));
});
afterAll(async () => {
  await webhook?.close();
  await s?.close();
  resetAccountLimiters();
});
beforeEach(() => s.cloud.faults.clear());

const retry = (id: string, body: unknown = {}, token?: string) => s.call('POST', `/tasks/${id}/retry`, { body, ...(token ? { token } : {}) });
const retryReplication = (id: string, body: unknown = {}) => s.call('POST', `/replications/${id}/retry`, { body });
const retryMany = (body: unknown) => s.call('POST', '/tasks/retry', { body });

/** An ACR trigger delivery of team/app:<tag> (pushed at the source first, so the digest is real). */
async function deliver(tag: string): Promise<any> {
  const pushed = await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag });
  const body = fixture('acr-trigger.json')
    .replace('v1.2.3', tag)
    .replace(/sha256:[0-9a-f]{64}/, pushed.digest);
  return redeliver(body);
}

async function redeliver(body: string): Promise<any> {
  const res = await fetch(`${webhook.url}/webhooks/acr?source=acr-hangzhou`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.webhook}` }, body });
  return { status: res.status, body: await res.json(), raw: body };
}

/** A push whose every CreateRepoSyncTask is refused for good: both its tasks fail at submission. */
async function failedPush(tag = nextTag()) {
  s.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 2, error: { status: 403, code: 'NoPrivilege' } });
  const d = await deliver(tag);
  expect(d.status).toBe(202);
  const targets = d.body.replications[0].targets;
  expect(targets.map((t: any) => t.state)).toEqual(['failed', 'failed']);
  return { tag, delivery: d, replicationId: d.body.replicationId as string, taskIds: targets.map((t: any) => t.taskId as string) };
}

const creates = (tag: string) => s.cloud.acr.createCallCount({ tag } as never);
const reopenEvents = async (id: string) => (await s.ledger.getTask(id))!.events.filter((e) => e.fromState !== 'pending' && e.toState === 'pending' && e.details.rerun !== undefined);

describe('POST /tasks/{id}/retry', () => {
  it('re-runs a failed task once: a fresh attempt budget, one new cloud task, who asked and why in the history', async () => {
    const { tag, taskIds } = await failedPush();
    const [id] = taskIds;
    const before = (await s.ledger.getTask(id!))!.task;
    expect(creates(tag)).toBe(0);

    const r = await retry(id!, { reason: 'permission fixed' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ taskId: id, reopened: true, alreadyReopened: false, previousState: 'failed', task: { state: 'pending', reruns: 1, attemptBase: before.attempts } });
    expect(r.body.task.maxAttempts).toBe(before.attempts + before.policy.maxAttempts);
    const [ev] = await reopenEvents(id!);
    expect(ev).toMatchObject({ fromState: 'failed', toState: 'pending', actor: 'operator', reason: 'permission fixed', details: { rerun: 1, previousError: { code: 'NoPrivilege' } } });

    await runSweep(s.deps);
    const after = (await s.ledger.getTask(id!))!.task;
    expect(after.state).toBe('submitted');
    expect(creates(tag)).toBe(1);
    // The other task of the push was not asked for: it stays failed, nothing created for it.
    expect((await s.ledger.getTask(taskIds[1]!))!.task.state).toBe('failed');

    const again = await retry(id!);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ reopened: false, alreadyReopened: true, previousState: 'submitted' });
    s.cloud.clock.advance(60_000);
    await runSweep(s.deps);
    expect((await s.ledger.getTask(id!))!.task.state).toBe('succeeded');
    expect(creates(tag)).toBe(1);
    expect(await reopenEvents(id!)).toHaveLength(1);
  });

  it('a succeeded task → 409 NotRetryable naming its state; so is one still on its first run', async () => {
    const tag = nextTag();
    const d = await deliver(tag);
    const [id] = d.body.replications[0].targets.map((t: any) => t.taskId);
    const running = await retry(id);
    expect(running.status).toBe(409);
    expect(running.body.error).toMatchObject({ code: 'NotRetryable', state: 'submitted', taskId: id });
    s.cloud.clock.advance(60_000);
    await runSweep(s.deps);
    const done = await retry(id);
    expect(done.status).toBe(409);
    expect(done.body.error).toMatchObject({ code: 'NotRetryable', state: 'succeeded' });
    expect(done.body.error.message).toMatch(/succeeded/);
  });

  it('concurrent retries of one task re-open it once', async () => {
    const { tag, taskIds } = await failedPush();
    const id = taskIds[0]!;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => retry(id, { reason: `try ${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(answers.filter((a) => a.body.reopened)).toHaveLength(1);
    expect(answers.filter((a) => a.body.alreadyReopened)).toHaveLength(5);
    expect(await reopenEvents(id)).toHaveLength(1);
    await runSweep(s.deps);
    expect(creates(tag)).toBe(1);
  });

  it('unknown id → 404; malformed id or body → 400 naming the field; a read token → 403', async () => {
    expect((await retry('6f1c2d3e-1111-4222-8333-944455556666')).status).toBe(404);
    const bad = await retry('nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('path.id');
    const { taskIds } = await failedPush();
    const reason = await retry(taskIds[0]!, { reason: 5 });
    expect(reason.status).toBe(400);
    expect(reason.body.error.field).toBe('body.reason');
    const extra = await retry(taskIds[0]!, { force: true });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/unknown field.*force/);
    const ro = await retry(taskIds[0]!, {}, TEST_TOKENS.read);
    expect(ro.status).toBe(403);
    expect((await s.ledger.getTask(taskIds[0]!))!.task.state).toBe('failed');
  });
});

describe('POST /replications/{id}/retry', () => {
  it('re-opens every failed task of the replication; a repeat says they were re-opened already', async () => {
    const { replicationId, taskIds } = await failedPush();
    const r = await retryReplication(replicationId, { reason: 'both' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ replicationId, reopened: 2, alreadyReopened: 0 });
    for (const id of taskIds) expect((await s.ledger.getTask(id))!.task.state).toBe('pending');
    const again = await retryReplication(replicationId);
    expect(again.body).toMatchObject({ reopened: 0, alreadyReopened: 2 });
    expect((await retryReplication('6f1c2d3e-1111-4222-8333-944455556666')).status).toBe(404);
  });

  it('a replication with nothing to re-run → 409 naming its state', async () => {
    const d = await deliver(nextTag());
    s.cloud.clock.advance(60_000);
    await runSweep(s.deps);
    const r = await retryReplication(d.body.replicationId);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'NotRetryable', state: 'succeeded' });
  });
});

describe('a redelivered push', () => {
  it('re-opens its failed targets (reopened: n) and reports succeeded or in-flight ones as duplicates', async () => {
    const tag = nextTag();
    s.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 1, error: { status: 403, code: 'NoPrivilege' } });
    const first = await deliver(tag);
    const states = first.body.replications[0].targets.map((t: any) => t.state).sort();
    expect(states).toEqual(['failed', 'submitted']);
    expect(creates(tag)).toBe(1);

    const second = await redeliver(first.raw);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ created: 0, duplicates: 1, reopened: 1 });
    const targets = second.body.replications[0].targets;
    const reopened = targets.find((t: any) => t.reopened);
    expect(reopened).toMatchObject({ state: 'submitted', cloudRef: expect.stringMatching(/^rst-/) });
    expect(targets.find((t: any) => t.duplicate)).toMatchObject({ state: 'submitted' });
    expect(creates(tag)).toBe(2);
    expect((await reopenEvents(reopened.taskId))[0]).toMatchObject({ actor: 'webhook:acr-hangzhou', reason: 'push delivered again' });

    const third = await redeliver(first.raw);
    expect(third.body).toMatchObject({ created: 0, duplicates: 2, reopened: 0 });
    expect(creates(tag)).toBe(2);
  });

  it('concurrent redeliveries re-open a failed target once', async () => {
    const { tag, delivery } = await failedPush();
    const answers = await Promise.all(Array.from({ length: 4 }, () => redeliver(delivery.raw)));
    expect(answers.reduce((n, a) => n + a.body.reopened, 0)).toBe(2);
    expect(creates(tag)).toBe(2);
  });
});

describe('POST /tasks/retry (bulk)', () => {
  /** A failed task of a bulk rule, recorded in the ledger and failed at the current time. */
  async function failedTask(rule: string): Promise<string> {
    const tag = nextTag();
    const from = { source: 'acr-hangzhou', kind: 'acr', namespace: rule, repository: 'app', tag, instanceId: 'cri-localsrc001', region: 'cn-hangzhou' };
    const to = { provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing', namespace: rule, repo: 'app', tag, override: false };
    const rec = await s.ledger.recordReplication({ sourceKind: 'acr', source: 'acr-hangzhou', namespace: rule, repository: 'app', tag, pushedAt: s.clock.now(), rules: [rule] }, [
      { provider: 'acr', target: { from, to }, targetKey: `acr:cn-beijing/cri-localdst002/${rule}/app:${tag}`, rule, scope: 'cri-localsrc001' },
    ]);
    const id = rec.tasks[0]!.taskId;
    await s.ledger.transition(id, { from: 'pending', to: 'failed', reason: 'test failure', actor: 'test', patch: { lastError: { code: 'Boom', message: 'for the test' } } });
    return id;
  }

  it('filters by rule and time, pages, and a dry run changes nothing', async () => {
    const old = await failedTask('bulk-a');
    s.cloud.clock.advance(3 * 3_600_000);
    const a1 = await failedTask('bulk-a');
    const a2 = await failedTask('bulk-a');
    const b1 = await failedTask('bulk-b');

    const dry = await retryMany({ rule: 'bulk-a', dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, matched: 3, reopened: 0, nextCursor: null });
    expect(dry.body.tasks.map((t: any) => t.taskId)).toEqual([old, a1, a2]);
    expect(dry.body.tasks[0]).toMatchObject({ rule: 'bulk-a', previousState: 'failed', lastError: 'Boom: for the test' });
    for (const id of [old, a1, a2, b1]) expect((await s.ledger.getTask(id))!.task.state).toBe('failed');

    const page1 = await retryMany({ rule: 'bulk-a', since: '2h', limit: 1, reason: 'outage over' });
    expect(page1.body).toMatchObject({ dryRun: false, matched: 1, reopened: 1, nextCursor: expect.any(String) });
    expect(page1.body.tasks[0].taskId).toBe(a1);
    const page2 = await retryMany({ rule: 'bulk-a', since: '2h', limit: 1, cursor: page1.body.nextCursor });
    expect(page2.body.tasks.map((t: any) => t.taskId)).toEqual([a2]);
    expect(page2.body.nextCursor).toBeNull();

    const states = await Promise.all([old, a1, a2, b1].map(async (id) => (await s.ledger.getTask(id))!.task.state));
    expect(states).toEqual(['failed', 'pending', 'pending', 'failed']);
    expect((await reopenEvents(a1))[0]).toMatchObject({ actor: 'operator', reason: 'outage over' });
  });

  it('bad filters → 400 naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ rule: 'no-such-rule' }, 'body.rule', /no rule "no-such-rule" is configured/],
      [{ state: 'succeeded' }, 'body.state', /failed, canceled, timed_out/],
      [{ since: 'yesterday' }, 'body.since', /ISO-8601 time.*duration/],
      [{ limit: 0 }, 'body.limit', /1\.\.500/],
      [{ cursor: 'abc' }, 'body.cursor', /nextCursor/],
      [{ dryRun: 'yes' }, 'body.dryRun', /./],
    ];
    for (const [body, field, message] of cases) {
      const r = await retryMany(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toMatch(message);
    }
  });
});

describe('ferry retry (CLI against the API)', () => {
  async function ferry(args: string[], token: string = TEST_TOKENS.admin) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--url', s.api.url], { env: { FERRY_API_TOKEN: token }, io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('retries a task or a replication by id, bulk with filters and --dry-run; usage errors exit 2', async () => {
    const one = await failedPush();
    const t = await ferry(['retry', one.taskIds[0]!, '--reason', 'from the cli']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(new RegExp(`task ${one.taskIds[0]} re-opened \\(was failed\\)`));
    const rep = await ferry(['retry', one.replicationId, '--json']);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout)).toMatchObject({ replicationId: one.replicationId, reopened: 1, alreadyReopened: 1 });

    const dry = await ferry(['retry', '--state', 'failed', '--rule', 'releases', '--since', '1h', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would be re-opened \(dry run: nothing changed\)/);
    const two = await failedPush();
    const bulk = await ferry(['retry', '--state', 'failed', '--rule', 'releases', '--since', '1h', '--json']);
    expect(bulk.code).toBe(0);
    const ids = JSON.parse(bulk.stdout).tasks.map((x: any) => x.taskId);
    expect(ids).toEqual(expect.arrayContaining(two.taskIds));

    const done = await ferry(['retry', one.taskIds[0]!]);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/already re-opened/);
    const unknown = await ferry(['retry', '6f1c2d3e-1111-4222-8333-944455556666']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/HTTP 404 ReplicationNotFound/);
    expect((await ferry(['retry'])).code).toBe(2);
    expect((await ferry(['retry', one.taskIds[0]!, '--state', 'failed'])).code).toBe(2);
    const badRule = await ferry(['retry', '--state', 'failed', '--rule', 'nope']);
    expect(badRule.code).toBe(1);
    expect(badRule.stderr).toMatch(/field: body\.rule/);
  });
});
