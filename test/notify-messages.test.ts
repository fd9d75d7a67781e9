/**
 * What a notification says, through a real sweep to receivers on loopback: the versioned webhook body
 * with every field the issue lists, its HMAC-SHA256 signature checked independently (node:crypto and
 * openssl), links only with a public URL, Slack and DingTalk carrying the same facts, grouping by
 * replication against one message per target, and config errors naming the field.
 */
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../shared/config/index.ts';
import { createLogger, setLogSink } from '../shared/log.ts';
import { dingtalkBody, slackBody } from '../shared/notify/format.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { baseConfig, startTestStack, TEST_ENV, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordAcrPush, startReceiver, stateOf, type Receiver } from './sweep-helpers.ts';

// Each test starts the local cloud and a ledger (PGlite: seconds on a busy machine).
vi.setConfig({ testTimeout: 60_000 });

const SECRET = 'whsec-test-8d2f0c41b7e9a3';

let stack: TestStack | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await stack?.close();
  for (const r of receivers.splice(0)) await r.close();
  stack = undefined;
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** Puts `tag` at each target instance first (another digest, override off): their syncs end in TAG_CONFLICT. */
async function failingPush(s: TestStack, tag: string, conflictAt: string[]): Promise<string[]> {
  for (const instanceId of conflictAt) await s.cloud.acr.push({ instanceId, namespace: 'team', repo: 'app', tag });
  const ids = await recordAcrPush(s, tag);
  s.cloud.clock.advance(61_000);
  await runSweep(s.deps);
  s.cloud.clock.advance(5_000);
  return ids;
}

/** hex HMAC-SHA256 over "<timestamp>.<raw body>", as README tells a receiver to compute it. */
function expectedSignature(secret: string, timestamp: string, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
}

function opensslSignature(secret: string, timestamp: string, raw: string): string | undefined {
  const r = spawnSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: `${timestamp}.${raw}` });
  if (r.error || r.status !== 0) return undefined;
  return `sha256=${r.stdout.toString().trim().split(/\s+/).pop()}`;
}

describe('notification messages', () => {
  it('a signed webhook message names the image, target, rule, attempts, reason, code, request id and links the task page', async () => {
    const hook = await receiver();
    stack = await startTestStack({
      env: { FERRY_NOTIFY_URL: hook.url, FERRY_NOTIFY_SECRET: SECRET },
      config: oneTargetConfig({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', secret: '${FERRY_NOTIFY_SECRET}' }], api: { publicUrl: 'https://ferry.example.com/ops' } }),
    });
    const s = stack;
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    let id: string;
    try {
      [id] = (await failingPush(s, 'm1', ['cri-localdst001'])) as [string];
      expect((await runSweep({ ...s.deps, log: createLogger({ test: true }, 'debug') })).notifications).toEqual({ sent: 1, failed: 0, dead: 0 });
    } finally {
      setLogSink(prev);
    }
    const task = await stateOf(s, id);
    const rep = (await s.ledger.getReplication(task.replicationId))!.replication;
    expect(task.lastError?.requestId).toBeTruthy();
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    const [n] = await s.ledger.outbox.list({});
    expect(req.body).toEqual({
      version: 1,
      id: n!.id,
      kind: 'task.failed',
      createdAt: n!.createdAt,
      replicationId: task.replicationId,
      action: 'copy',
      image: {
        registry: 'cri-localsrc001',
        registryKind: 'acr',
        region: 'cn-hangzhou',
        namespace: 'team',
        repository: 'app',
        tag: 'm1',
        digest: rep.digest,
        ref: `cri-localsrc001/team/app:m1@${rep.digest}`,
      },
      taskId: id,
      target: 'acr:cri-localdst001:cn-shanghai:team/app:m1',
      provider: 'acr',
      rule: 'releases',
      attempts: 1,
      reason: task.lastError!.message,
      code: 'TAG_CONFLICT',
      requestId: task.lastError!.requestId,
      link: `https://ferry.example.com/ops/ui/tasks/${id}`,
    });

    const ts = String(req.headers['x-ferry-timestamp']);
    // Signed when sent: at most a few seconds before now, on a clock that runs.
    const age = Math.floor(s.clock.now() / 1000) - Number(ts);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(5);
    const signature = String(req.headers['x-ferry-signature']);
    expect(signature).toBe(expectedSignature(SECRET, ts, req.raw));
    expect(signature).not.toBe(expectedSignature(SECRET, ts, req.raw.replace('TAG_CONFLICT', 'TAG_CONFLICU')));
    expect(signature).not.toBe(expectedSignature('another-secret', ts, req.raw));
    const viaOpenssl = opensslSignature(SECRET, ts, req.raw);
    if (viaOpenssl !== undefined) expect(signature).toBe(viaOpenssl);

    // The secret is a secret: in no log line, no outbox row.
    const { rows } = await s.db.query('SELECT * FROM notifications');
    expect(lines.length).toBeGreaterThan(0);
    for (const text of [lines.join('\n'), JSON.stringify(rows)]) expect(text).not.toContain(SECRET);
  });

  it('Slack and DingTalk carry the same facts; links come from webhook.publicUrl when api.publicUrl is unset; unsigned without a secret', async () => {
    const [hook, slack, ding] = [await receiver(), await receiver(), await receiver()];
    stack = await startTestStack({
      env: { FERRY_NOTIFY_URL: hook.url, FERRY_SLACK_WEBHOOK_URL: slack.url, FERRY_DINGTALK_URL: ding.url },
      config: oneTargetConfig({
        notifications: [
          { type: 'webhook', url: '${FERRY_NOTIFY_URL}' },
          { type: 'slack', url: '${FERRY_SLACK_WEBHOOK_URL}' },
          { type: 'dingtalk', url: '${FERRY_DINGTALK_URL}' },
        ],
        webhook: { submitBudgetMs: 3000, publicUrl: 'https://hooks.example.com' },
      }),
    });
    const s = stack;
    const [id] = (await failingPush(s, 'm2', ['cri-localdst001'])) as [string];
    expect((await runSweep(s.deps)).notifications).toEqual({ sent: 3, failed: 0, dead: 0 });
    const task = await stateOf(s, id);
    const link = `https://hooks.example.com/ui/tasks/${id}`;
    expect(hook.requests[0]!.body).toMatchObject({ link, image: { tag: 'm2' } });
    expect(hook.requests[0]!.headers['x-ferry-signature']).toBeUndefined();
    expect(hook.requests[0]!.headers['x-ferry-timestamp']).toBeUndefined();
    const slackText = (slack.requests[0]!.body as { text: string }).text;
    const dingText = (ding.requests[0]!.body as { markdown: { text: string } }).markdown.text;
    for (const text of [slackText, dingText]) {
      expect(text).toContain('cri-localsrc001/team/app:m2@sha256:');
      expect(text).toContain('acr:cri-localdst001:cn-shanghai:team/app:m2');
      expect(text).toContain('Rule: releases');
      expect(text).toContain('Attempts: 1');
      expect(text).toContain('TAG_CONFLICT');
      expect(text).toContain(task.lastError!.requestId!);
      expect(text).toContain(link);
    }
  });

  it('group: replication sends one message listing every failed target once none is open; group: task one per target', async () => {
    const [grouped, perTask] = [await receiver(), await receiver()];
    stack = await startTestStack({
      env: { GROUPED_URL: grouped.url, PER_TASK_URL: perTask.url, FERRY_API_PUBLIC_URL: 'https://ferry.example.com' },
      config: (base) => ({
        ...base,
        rules: [
          {
            name: 'releases',
            source: 'acr-hangzhou',
            namespace: 'team',
            repository: '**',
            targets: [
              { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' },
              { provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing' },
            ],
          },
        ],
        notifications: [
          { type: 'webhook', url: '${GROUPED_URL}', group: 'replication' },
          { type: 'webhook', url: '${PER_TASK_URL}' },
        ],
        api: { publicUrl: '${FERRY_API_PUBLIC_URL}' },
      }),
    });
    const s = stack;
    const ids = await failingPush(s, 'm3', ['cri-localdst001', 'cri-localdst002']);
    await runSweep(s.deps);
    await runSweep(s.deps);
    for (const id of ids) expect((await stateOf(s, id)).state).toBe('failed');
    expect(perTask.requests).toHaveLength(2);
    expect(grouped.requests).toHaveLength(1);
    const tasks = await Promise.all(ids.map((id) => stateOf(s, id)));
    const repId = tasks[0]!.replicationId;
    expect(grouped.requests[0]!.body).toMatchObject({
      version: 1,
      kind: 'replication.failed',
      replicationId: repId,
      state: 'failed',
      succeeded: 0,
      targets: 2,
      link: `https://ferry.example.com/ui/replications/${repId}`,
      image: { registry: 'cri-localsrc001', namespace: 'team', repository: 'app', tag: 'm3' },
    });
    const failed = (grouped.requests[0]!.body as { failed: Array<Record<string, unknown>> }).failed;
    expect(failed.map((f) => f.target).sort()).toEqual(tasks.map((t) => t.targetKey).sort());
    for (const t of tasks) {
      expect(failed.find((f) => f.taskId === t.id)).toEqual({
        taskId: t.id,
        target: t.targetKey,
        provider: 'acr',
        rule: 'releases',
        state: 'failed',
        attempts: 1,
        reason: t.lastError!.message,
        code: 'TAG_CONFLICT',
        requestId: t.lastError!.requestId,
        link: `https://ferry.example.com/ui/tasks/${t.id}`,
      });
    }
    // Later sweeps send nothing more.
    s.cloud.clock.advance(3_600_000);
    await runSweep(s.deps);
    expect(grouped.requests).toHaveLength(1);
    expect(perTask.requests).toHaveLength(2);
  });

  it('config errors name the field and the rule', () => {
    const env = { ...TEST_ENV, FERRY_NOTIFY_URL: 'https://hooks.example.com/x' };
    const check = (extra: Record<string, unknown>) => {
      const r = validateConfig({ ...baseConfig('http://127.0.0.1:1'), ...extra }, env);
      return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(check({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', group: 'foo' }] })).toEqual([expect.stringMatching(/^notifications\[0\]\.group: .*"task".*"replication"/)]);
    expect(check({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', secret: 'inline-secret' }] })).toEqual([
      expect.stringMatching(/^notifications\[0\]\.secret: must be a reference like \$\{FERRY_NOTIFY_SECRET\}/),
    ]);
    expect(check({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', secret: '${UNSET_SECRET_VAR}' }] })).toEqual([
      expect.stringMatching(/^notifications\[0\]\.secret: environment variable UNSET_SECRET_VAR is not set/),
    ]);
    expect(check({ notifications: [{ type: 'slack', url: '${FERRY_NOTIFY_URL}', secret: '${FERRY_NOTIFY_URL}' }] })).toEqual(['notifications[0].secret: unknown field']);
    expect(check({ api: { publicUrl: 'ferry.example.com' } })).toEqual(['api.publicUrl: must be an http(s) URL']);
    expect(check({ api: { publicUrl: 'https://ferry.example.com', extra: 1 } })).toEqual(['api.extra: unknown field']);
    expect(check({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', group: 'replication', secret: '${FERRY_NOTIFY_URL}' }], api: { publicUrl: 'https://ferry.example.com' } })).toEqual(
      [],
    );
  });

  it('Slack and DingTalk render a grouped message: each failed target with its reason, code, request id and link, the first 20 of them', () => {
    const failed = Array.from({ length: 25 }, (_, i) => ({
      taskId: `t${i}`,
      target: `acr:cri-dst${i}:cn-shanghai:team/app:v1`,
      provider: 'acr',
      rule: 'releases',
      state: 'failed',
      attempts: 3,
      reason: `no room ${i}`,
      code: 'QuotaExceeded',
      requestId: `RID-${i}`,
      link: `https://ferry.example.com/ui/tasks/t${i}`,
    }));
    const image = { registry: 'acr-hangzhou', registryKind: 'acr', region: 'cn-hangzhou', namespace: 'team', repository: 'app', tag: 'v1', digest: null, ref: 'acr-hangzhou/team/app:v1' };
    const m = {
      version: 1 as const,
      id: 'n',
      kind: 'replication.failed' as const,
      createdAt: '',
      replicationId: 'r1',
      action: 'copy',
      image,
      state: 'partially_failed',
      failed,
      succeeded: 2,
      targets: 27,
    };
    const slack = slackBody({ ...m, link: 'https://ferry.example.com/ui/replications/r1' }) as { text: string; blocks: [{ text: { text: string } }] };
    const ding = (dingtalkBody(m) as { markdown: { title: string; text: string } }).markdown;
    expect(ding.title).toBe('Ferry: replication of acr-hangzhou/team/app:v1 failed for 25 of 27 targets');
    for (const text of [slack.text, slack.blocks[0].text.text, ding.text]) {
      expect(text).toContain('partially_failed: 25 failed, 2 succeeded of 27');
      expect(text).toContain('acr:cri-dst3:cn-shanghai:team/app:v1');
      expect(text).toContain('no room 3');
      expect(text).toContain('RID-3');
      expect(text).not.toContain('cri-dst20:');
    }
    for (const text of [slack.text, ding.text]) {
      expect(text).toContain('RID-19');
      expect(text).toContain('… and 5 more failed targets');
    }
    expect(slack.blocks[0].text.text).toContain('<https://ferry.example.com/ui/tasks/t3|task>');
    // Slack's section stops at whole lines under its 3,000 characters and says what it left out.
    expect(slack.blocks[0].text.text).toMatch(/\n… \d+ more lines: see the status page or the webhook message\nDetails: <https:\/\/ferry\.example\.com\/ui\/replications\/r1\|[^>]+>$/);
    expect(ding.text).toContain('[task](https://ferry.example.com/ui/tasks/t3)');
    expect(ding.text).not.toContain('Details:'); // this one has no replication link
    expect(slack.blocks[0].text.text.length).toBeLessThanOrEqual(3000);
    // A cloud message of thousands of characters: chat gets its first 300.
    const long = slackBody({ ...m, failed: [{ ...failed[0]!, reason: 'x'.repeat(5000) }] }) as { text: string };
    expect(long.text).toContain(`${'x'.repeat(300)}…`);
    expect(long.text).not.toContain('x'.repeat(301));
  });

  it('the deployed functions get the variables the new fields reference', () => {
    const { configReferences } = createRequire(import.meta.url)('../deploy/config-env.cjs') as { configReferences: (doc: unknown) => { env: string[] } };
    const { env } = configReferences({
      notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', secret: '${FERRY_NOTIFY_SECRET}', group: 'replication' }],
      api: { publicUrl: '${FERRY_API_PUBLIC_URL}' },
      store: { databaseUrl: '${DATABASE_URL}' },
    });
    expect(env).toEqual(['DATABASE_URL', 'FERRY_API_PUBLIC_URL', 'FERRY_NOTIFY_SECRET', 'FERRY_NOTIFY_URL']);
  });
});
