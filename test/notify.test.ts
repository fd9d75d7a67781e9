import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dingtalkSign, signedDingtalkUrl } from '../shared/notify/dingtalk.ts';
import { dingtalkBody, slackBody } from '../shared/notify/format.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordAcrPush, startReceiver, stateOf, type Receiver } from './sweep-helpers.ts';

let stack: TestStack | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await stack?.close();
  for (const r of receivers.splice(0)) await r.close();
  stack = undefined;
});

/** Records a push whose sync ends in TAG_CONFLICT, and runs the sweeps that fail it. Returns the task id. */
async function failOneTask(s: TestStack, tag: string): Promise<string> {
  await s.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag });
  const [id] = await recordAcrPush(s, tag);
  s.cloud.clock.advance(61_000);
  await runSweep(s.deps);
  s.cloud.clock.advance(5_000);
  return id!;
}

describe('notifications', () => {
  it('a receiver failing twice then succeeding gets the notification delivered exactly once', async () => {
    const r = await startReceiver((n) => (n < 2 ? { status: 500, body: { error: 'down' } } : { status: 200 }));
    receivers.push(r);
    stack = await startTestStack({ env: { FERRY_NOTIFY_URL: r.url }, config: oneTargetConfig({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}' }] }) });
    const s = stack;
    const id = await failOneTask(s, 'n1');
    let sum = await runSweep(s.deps); // fails the task, queues and tries the notification: 500
    expect((await stateOf(s, id)).state).toBe('failed');
    expect(sum.notifications).toEqual({ sent: 0, failed: 1, dead: 0 });
    expect(r.requests).toHaveLength(1);

    sum = await runSweep(s.deps); // backoff not over: not sent again
    expect(r.requests).toHaveLength(1);
    s.cloud.clock.advance(31_000);
    sum = await runSweep(s.deps); // second try: 500
    expect(sum.notifications.failed).toBe(1);
    expect(r.requests).toHaveLength(2);
    s.cloud.clock.advance(61_000);
    sum = await runSweep(s.deps); // third: 200
    expect(sum.notifications.sent).toBe(1);
    expect(r.requests).toHaveLength(3);
    s.cloud.clock.advance(24 * 3_600_000);
    await runSweep(s.deps);
    expect(r.requests).toHaveLength(3);

    const ids = new Set(r.requests.map((q) => q.headers['x-ferry-notification-id']));
    expect(ids.size).toBe(1);
    const [n] = await s.ledger.outbox.list({ subject: `task:${id}` });
    expect(n).toMatchObject({ state: 'sent', attempts: 2, kind: 'task.failed' });
    expect(r.requests[2]!.body).toMatchObject({ id: n!.id, taskId: id, error: { code: 'TAG_CONFLICT' }, attempts: 1 });
  });

  it('two sweeps at once deliver a notification once', async () => {
    const r = await startReceiver();
    receivers.push(r);
    stack = await startTestStack({ env: { FERRY_NOTIFY_URL: r.url }, config: oneTargetConfig({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}' }] }) });
    const s = stack;
    await failOneTask(s, 'n2');
    await Promise.all([runSweep(s.deps), runSweep(s.deps), runSweep(s.deps)]);
    await runSweep(s.deps);
    expect(r.requests).toHaveLength(1);
  });

  it('signs DingTalk messages and treats errcode ≠ 0 as a failure; Slack gets text and blocks', async () => {
    const ding = await startReceiver((n) => ({ status: 200, body: n === 0 ? { errcode: 310000, errmsg: 'sign not match' } : { errcode: 0, errmsg: 'ok' } }));
    const slack = await startReceiver();
    receivers.push(ding, slack);
    stack = await startTestStack({
      env: { FERRY_DINGTALK_URL: ding.url, FERRY_DINGTALK_SECRET: 'SECtest-secret', FERRY_SLACK_WEBHOOK_URL: slack.url },
      config: oneTargetConfig({
        notifications: [
          { type: 'dingtalk', url: '${FERRY_DINGTALK_URL}', secret: '${FERRY_DINGTALK_SECRET}' },
          { type: 'slack', url: '${FERRY_SLACK_WEBHOOK_URL}' },
        ],
      }),
    });
    const s = stack;
    await failOneTask(s, 'n3');
    let sum = await runSweep(s.deps);
    expect(sum.notifications).toEqual({ sent: 1, failed: 1, dead: 0 }); // slack ok, dingtalk errcode
    s.cloud.clock.advance(31_000);
    sum = await runSweep(s.deps);
    expect(sum.notifications.sent).toBe(1);
    expect(ding.requests).toHaveLength(2);
    expect(slack.requests).toHaveLength(1);

    const q = new URL(ding.requests[1]!.url, 'http://x');
    expect(q.searchParams.get('token')).toBe('s3cret');
    const ts = q.searchParams.get('timestamp')!;
    const expected = createHmac('sha256', 'SECtest-secret').update(`${ts}\nSECtest-secret`).digest('base64');
    expect(q.searchParams.get('sign')).toBe(expected);
    expect(ding.requests[1]!.body).toMatchObject({ msgtype: 'markdown', markdown: { title: expect.stringContaining('failed') } });
    expect((ding.requests[1]!.body as { markdown: { text: string } }).markdown.text).toContain('TAG_CONFLICT');
    expect(slack.requests[0]!.body).toMatchObject({ text: expect.stringContaining('TAG_CONFLICT'), blocks: [{ type: 'section' }] });
  });

  it('formats and signs without a running stack', () => {
    // Sign of a known input, computed independently with the documented recipe.
    expect(dingtalkSign('SECabc', 1700000000000)).toBe(createHmac('sha256', 'SECabc').update('1700000000000\nSECabc').digest('base64'));
    expect(signedDingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=t', 'SECabc', 1)).toMatch(
      /^https:\/\/oapi\.dingtalk\.com\/robot\/send\?access_token=t&timestamp=1&sign=[A-Za-z0-9%]+$/,
    );
    expect(signedDingtalkUrl('https://example.com/hook', undefined, 1)).toBe('https://example.com/hook');
    const row = {
      id: 'n1',
      subject: 'task:t',
      taskId: 't',
      replicationId: 'r',
      kind: 'task.timed_out',
      target: '0:slack',
      state: 'pending' as const,
      attempts: 0,
      maxAttempts: 10,
      nextAttemptAt: '',
      leaseOwner: null,
      leaseExpiresAt: null,
      lastError: null,
      createdAt: '',
      updatedAt: '',
      sentAt: null,
      payload: { event: 'task.timed_out', taskId: 't', targetKey: 'acr:x', attempts: 3, error: { code: 'DeadlineExceeded', message: 'late', requestId: 'RID-1' } },
    };
    expect(JSON.stringify(slackBody(row))).toContain('RID-1');
    expect((dingtalkBody(row) as { markdown: { title: string } }).markdown.title).toBe('Ferry: replication timed out → acr:x');
  });
});
