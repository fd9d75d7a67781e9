// The one retry decision (shared/replicate/decide.ts), table-driven: what submission, reconciliation
// and deadline paths do next for a task's policy, attempts and cause.
import { describe, expect, it } from 'vitest';
import { POLICY_DEFAULTS, type Policy } from '../shared/config/index.ts';
import { backoffMs, decide, SUBMISSION_TRIES, type Cause } from '../shared/replicate/decide.ts';

const policy: Policy = { ...POLICY_DEFAULTS, backoff: { ...POLICY_DEFAULTS.backoff } };
const now = 1_000_000;
const half = () => 0.5;

describe('decide', () => {
  const cases: Array<[string, Policy, { attempts: number; maxAttempts: number }, Cause, ReturnType<typeof decide>]> = [
    [
      'throttled create with a server wait: defer by that wait',
      policy,
      { attempts: 1, maxAttempts: 3 },
      { kind: 'submission', retryable: true, retryAfterMs: 7_000 },
      { next: 'defer', at: now + 7_000 },
    ],
    ['transient create: defer by the backoff', policy, { attempts: 1, maxAttempts: 3 }, { kind: 'submission', retryable: true }, { next: 'defer', at: now + backoffMs(policy, 1, half) }],
    [
      'throttled creates get more tries than the rule attempts',
      policy,
      { attempts: SUBMISSION_TRIES - 1, maxAttempts: 3 },
      { kind: 'submission', retryable: true },
      { next: 'defer', at: now + backoffMs(policy, SUBMISSION_TRIES - 1, half) },
    ],
    ['… but not endless', policy, { attempts: SUBMISSION_TRIES, maxAttempts: 3 }, { kind: 'submission', retryable: true }, { next: 'give-up', exhausted: true }],
    ['refused create (permission, bad request): give up at once', policy, { attempts: 1, maxAttempts: 3 }, { kind: 'submission', retryable: false }, { next: 'give-up', exhausted: false }],
    [
      'cloud task failed, attempts left: retry after backoff',
      policy,
      { attempts: 1, maxAttempts: 3 },
      { kind: 'cloud-failure', retryable: true },
      { next: 'retry', at: now + backoffMs(policy, 1, half) },
    ],
    ['cloud task failed, attempts used up', policy, { attempts: 3, maxAttempts: 3 }, { kind: 'cloud-failure', retryable: true }, { next: 'give-up', exhausted: true }],
    ['cloud task failed for good (e.g. TAG_CONFLICT without override)', policy, { attempts: 1, maxAttempts: 3 }, { kind: 'cloud-failure', retryable: false }, { next: 'give-up', exhausted: false }],
    ['timeout, retryOnTimeout, attempts left: retry', policy, { attempts: 2, maxAttempts: 3 }, { kind: 'timeout' }, { next: 'retry', at: now + backoffMs(policy, 2, half) }],
    ['timeout, attempts used up', policy, { attempts: 3, maxAttempts: 3 }, { kind: 'timeout' }, { next: 'give-up', exhausted: true }],
    ['timeout, retryOnTimeout off', { ...policy, retryOnTimeout: false }, { attempts: 1, maxAttempts: 3 }, { kind: 'timeout' }, { next: 'give-up', exhausted: false }],
  ];
  it.each(cases)('%s', (_name, p, task, cause, expected) => {
    expect(decide(p, task, cause, now, half)).toEqual(expected);
  });

  it('backs off exponentially with equal jitter, capped', () => {
    expect(backoffMs(policy, 1, () => 0)).toBe(15_000);
    expect(backoffMs(policy, 1, () => 1)).toBe(30_000);
    expect(backoffMs(policy, 3, () => 1)).toBe(120_000);
    expect(backoffMs(policy, 20, () => 1)).toBe(900_000);
  });
});
