import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dingtalkSign, signedDingtalkUrl } from '../shared/notify/dingtalk.ts';
import { dingtalkBody, slackBody } from '../shared/notify/format.ts';
import { buildMessage } from '../shared/notify/message.ts';
import { createLogger, setLogSink } from '../shared/log.ts';
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
    expect(r.requests[2]!.body).toMatchObject({ version: 1, id: n!.id, kind: 'task.failed', taskId: id, code: 'TAG_CONFLICT', attempts: 1 });
    // No public URL configured (neither api.publicUrl nor webhook.publicUrl): no link, and no signature without a secret.
    expect(r.requests[2]!.body).not.toHaveProperty('link');
    expect(r.requests[2]!.headers['x-ferry-signature']).toBeUndefined();
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
    // The code is kept, not DingTalk's errmsg (the receiver's text).
    expect((await s.ledger.outbox.list({})).find((n) => n.target.endsWith(':dingtalk'))?.lastError).toBe('dingtalk refused the message: errcode 310000');
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

  it("never logs or stores a failing receiver's body: an error page quoting the secret URL leaves only the status", async () => {
    // An Express-style 404 page quotes the request: the secret path and the access_token.
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume().on('end', () => {
        res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!DOCTYPE html><html><body><pre>Cannot POST ${req.url}</pre></body></html>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    receivers.push({ url: '', requests: [], answer: () => ({ status: 200 }), close: () => new Promise<void>((r) => server.close(() => r())) });
    const secretPath = 'hooks/T0SECRET-PATH-7f3a9c';
    const token = 'xoxb-access-token-5e8d1b';
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${secretPath}?access_token=${token}`;
    stack = await startTestStack({ env: { FERRY_NOTIFY_URL: url }, config: oneTargetConfig({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}' }] }) });
    const s = stack;
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    try {
      const deps = { ...s.deps, log: createLogger({ test: true }, 'debug') };
      await failOneTask(s, 'n4');
      expect((await runSweep(deps)).notifications).toEqual({ sent: 0, failed: 1, dead: 0 });
      const [pending] = await s.ledger.outbox.list({});
      expect(pending?.lastError).toBe('webhook answered HTTP 404 (text/html)');
      // Every attempt up to the last (10): the same line, then given up.
      for (let i = 0; i < 20 && (await s.ledger.outbox.list({ state: 'pending' })).length; i++) {
        s.cloud.clock.advance(24 * 3_600_000);
        await runSweep(deps);
      }
      const [dead] = await s.ledger.outbox.list({});
      expect(dead).toMatchObject({ state: 'dead', lastError: 'webhook answered HTTP 404 (text/html)' });
    } finally {
      setLogSink(prev);
    }
    expect(seen).toHaveLength(10);
    expect(seen[0]).toContain(token); // the receiver really quoted it
    const logged = lines.filter((l) => l.includes('notification'));
    expect(logged.map((l) => JSON.parse(l).msg)).toEqual(expect.arrayContaining(['notification not delivered, will retry', 'notification given up']));
    const { rows } = await s.db.query<{ last_error: string | null }>('SELECT last_error FROM notifications');
    for (const text of [lines.join('\n'), JSON.stringify(rows)]) {
      expect(text).not.toContain('T0SECRET-PATH');
      expect(text).not.toContain(token);
      expect(text).not.toContain('Cannot POST');
    }
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
      replicationId: null,
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
      untilSettled: false,
      payload: { event: 'task.timed_out', taskId: 't', replicationId: 'r', targetKey: 'acr:x', attempts: 3, error: { code: 'DeadlineExceeded', message: 'late', requestId: 'RID-1' } },
    };
    const replication = {
      id: 'r',
      sourceKey: 'k',
      sourceKind: 'acr',
      action: 'copy' as const,
      source: 'cri-src',
      region: 'cn-hangzhou',
      namespace: 'team',
      repository: 'app',
      tag: 'v1',
      digest: 'sha256:abc',
      pushedAt: null,
      receivedAt: '',
      rules: [],
      details: {},
      state: 'failed' as const,
      createdAt: '',
      updatedAt: '',
    };
    const message = buildMessage(row, { replication, tasks: [] }, 'https://ferry.example.com/base/')!;
    expect(message).toMatchObject({ image: { ref: 'cri-src/team/app:v1@sha256:abc' }, link: 'https://ferry.example.com/base/ui/tasks/t', requestId: 'RID-1' });
    expect(JSON.stringify(slackBody(message))).toContain('RID-1');
    expect(JSON.stringify(slackBody(message))).toContain('<https://ferry.example.com/base/ui/tasks/t|');
    expect((dingtalkBody(message) as { markdown: { title: string } }).markdown.title).toBe('Ferry: replication timed out → acr:x');
    expect((dingtalkBody(message) as { markdown: { text: string } }).markdown.text).toContain('[https://ferry.example.com/base/ui/tasks/t](https://ferry.example.com/base/ui/tasks/t)');
  });
});
