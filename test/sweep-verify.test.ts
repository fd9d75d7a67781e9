// Verification at the target: an ACR sync the cloud reports SUCCESS is only a success once the target
// instance holds the tag at the pushed digest (GetRepoTag); else VERIFY_MISMATCH, retried per policy.
import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { recordAcrPush, stateOf } from './sweep-helpers.ts';

const SYNC = { seed: { syncDurationMs: { min: 10_000, max: 10_000 } } };
const OTHER = `sha256:${'e'.repeat(64)}`;

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function overrideConfig(base: Record<string, unknown>) {
  return {
    ...base,
    rules: [{ name: 'releases', source: 'acr-hangzhou', namespace: 'team', repository: '**', targets: [{ provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', override: true }] }],
  };
}

/** Submits the task and lets the cloud finish the sync (the tag lands at the target), without a sweep seeing it. */
async function syncedNotObserved(s: TestStack, tag: string): Promise<string> {
  const [id] = await recordAcrPush(s, tag);
  s.cloud.clock.advance(61_000);
  await runSweep(s.deps);
  expect((await stateOf(s, id!)).state).toBe('submitted');
  s.cloud.clock.advance(11_000);
  // Any ACR call settles the sync: the target now holds the tag.
  await s.clients.acr.region('cn-hangzhou').listRepoSyncTask({ instanceId: 'cri-localsrc001' });
  return id!;
}

describe('sweep: a success is verified at the target', () => {
  it('a target tag overwritten with another digest fails VERIFY_MISMATCH, is retried, then verifies', async () => {
    stack = await startTestStack({ cloud: SYNC, config: overrideConfig });
    const s = stack;
    const id = await syncedNotObserved(s, 'v1');
    const pushed = s.cloud.acr.tagsOf('cri-localsrc001', 'team', 'app').v1!;
    expect(s.cloud.acr.tagsOf('cri-localdst001', 'team', 'app').v1).toBe(pushed);
    await s.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag: 'v1', digest: OTHER });

    let sum = await runSweep(s.deps);
    const failed = await stateOf(s, id);
    expect(failed.state).toBe('pending');
    expect(failed.lastError?.code).toBe('VERIFY_MISMATCH');
    expect(failed.lastError?.message).toContain(OTHER);
    expect(failed.lastError?.message).toContain(pushed);
    expect(sum.events['verify.mismatch']).toBe(1);
    expect(sum.transitions['submitted→pending']).toBe(1);

    s.cloud.clock.advance(16 * 60_000);
    await runSweep(s.deps); // resubmitted: a second sync task
    expect(s.cloud.acr.createCallCount()).toBe(2);
    s.cloud.clock.advance(11_000);
    sum = await runSweep(s.deps);
    const done = await stateOf(s, id);
    expect(done.state).toBe('succeeded');
    expect(sum.events['verify.ok']).toBe(1);
    const events = (await s.ledger.getTask(id))!.events;
    expect(events.at(-1)!.details).toMatchObject({ verify: 'ok', verifiedDigest: pushed });
  });

  it('a target tag deleted after the sync fails VERIFY_MISMATCH as missing', async () => {
    stack = await startTestStack({ cloud: SYNC, config: overrideConfig });
    const s = stack;
    const id = await syncedNotObserved(s, 'v2');
    s.cloud.faults.add({ op: 'acr:GetRepoTag', error: { status: 404, code: 'TAG_NOT_EXIST' }, count: 1 });
    const sum = await runSweep(s.deps);
    const task = await stateOf(s, id);
    expect(task.lastError?.code).toBe('VERIFY_MISMATCH');
    expect(task.lastError?.message).toMatch(/does not exist/);
    expect(sum.events['verify.missing']).toBe(1);
  });

  it('a throttled verification leaves the task for the next sweep, which verifies it', async () => {
    stack = await startTestStack({ cloud: SYNC, config: overrideConfig });
    const s = stack;
    const id = await syncedNotObserved(s, 'v3');
    s.cloud.faults.add({ op: 'acr:GetRepoTag', throttle: { waitMs: 0 }, count: 20 });
    let sum = await runSweep(s.deps);
    const open = await stateOf(s, id);
    expect(['submitted', 'running']).toContain(open.state);
    expect(open.lastError).toBeNull();
    expect(sum.events['verify.deferred']).toBe(1);

    s.cloud.faults.clear();
    sum = await runSweep(s.deps);
    expect((await stateOf(s, id)).state).toBe('succeeded');
    expect(sum.events['verify.ok']).toBe(1);
  });

  it('a 5xx during verification does not fail the task either', async () => {
    stack = await startTestStack({ cloud: SYNC, config: overrideConfig });
    const s = stack;
    const id = await syncedNotObserved(s, 'v4');
    s.cloud.faults.add({ op: 'acr:GetRepoTag', serverError: 503, count: 20 });
    const sum = await runSweep(s.deps);
    expect(['submitted', 'running']).toContain((await stateOf(s, id)).state);
    expect(sum.events['verify.deferred']).toBe(1);
  });
});
