/**
 * `clouds.huawei.projectId`: the IAM project AK/SK calls name in X-Project-Id (a token names its
 * own), checked in the config and carried to the wire by the SWR provider.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { projectIdOf } from '../local/cloud/huawei-auth.ts';
import { validateConfig } from '../shared/config/index.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { HW_AKSK } from './helpers/fidelity-drivers.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordSwrPush, stateOf } from './sweep-helpers.ts';

const ENV = { AK: HW_AKSK.accessKey, SK: HW_AKSK.secretKey };
const NORTH = projectIdOf('cn-north-4');
const EAST = projectIdOf('cn-east-3');

function problems(huawei: Record<string, unknown>, swrRegions: string[] = ['cn-north-4']): string[] {
  const sources = swrRegions.map((region, i) => ({ kind: 'swr', name: `swr-${i}`, region, namespaces: ['team'] }));
  const r = validateConfig({ sources, clouds: { huawei } }, ENV);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('config', () => {
  const aksk = { accessKey: '${AK}', secretKey: '${SK}' };

  it('one project id, or one per SWR region, with AK/SK', () => {
    expect(problems({ ...aksk, projectId: NORTH })).toEqual([]);
    expect(problems({ ...aksk, projectId: { 'cn-north-4': NORTH, 'cn-east-3': EAST } }, ['cn-north-4', 'cn-east-3'])).toEqual([]);
    expect(problems(aksk)).toEqual([]);
  });

  it('refused: not a project id, with a password, one id for several regions, a region left out, an unknown region', () => {
    expect(problems({ ...aksk, projectId: 'my-project' })).toEqual(['clouds.huawei.projectId: must be an IAM project id (32 lowercase hex characters)']);
    expect(problems({ user: 'ferry', password: '${SK}', domain: 'acme', projectId: NORTH })).toEqual(['clouds.huawei.projectId: needs accessKey and secretKey (an IAM token names its own project)']);
    expect(problems({ ...aksk, projectId: NORTH }, ['cn-north-4', 'cn-east-3'])).toEqual([
      'clouds.huawei.projectId: names one project, but SWR sources are in cn-north-4 and cn-east-3: give one per region ({<region>: <project id>})',
    ]);
    expect(problems({ ...aksk, projectId: { 'cn-north-4': NORTH } }, ['cn-north-4', 'cn-east-3'])).toEqual(['clouds.huawei.projectId: has no project for cn-east-3 (SWR source "swr-1")']);
    expect(problems({ ...aksk, projectId: { 'cn-north-4': NORTH, 'mars-1': NORTH } })).toEqual(['clouds.huawei.projectId.mars-1: unknown Huawei Cloud region "mars-1"']);
  });
});

describe('the SWR provider sends the configured project id', () => {
  let s: TestStack | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function submitWith(projectId: unknown) {
    s = await startTestStack({
      env: ENV,
      config: (base) => {
        const clouds = base.clouds as { huawei: { endpoints: unknown } };
        return { ...oneTargetConfig()(base), clouds: { ...clouds, huawei: { accessKey: '${AK}', secretKey: '${SK}', projectId, endpoints: clouds.huawei.endpoints } } };
      },
    });
    const [id] = await recordSwrPush(s, 'v1');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    return stateOf(s, id!);
  }

  it("the region's project: submitted", async () => {
    expect((await submitWith({ 'cn-north-4': NORTH })).cloudRef).toMatch(/^swr-job:\d+$/);
  });

  it("another account's project: refused by the cloud (401 APIGW.0301), so it was sent", async () => {
    const t = await submitWith('ffffffffffffffffffffffffffffffff');
    expect(t.state).not.toBe('submitted');
    expect(t.lastError?.code).toBe('APIGW.0301');
  });
});
