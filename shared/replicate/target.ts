import type { Policy } from '../config/index.ts';
import type { TaskSpec } from '../ledger/index.ts';
import type { MatchedTarget, RenderedAcrTarget, RenderedSwrTarget, SourceImage } from '../rules/match.ts';

/** What a ledger task's `target` column holds: where the image comes from and where it goes. */
export interface AcrTaskTarget {
  from: SourceImage & { instanceId: string; region: string };
  to: RenderedAcrTarget;
}
export interface SwrTaskTarget {
  from: SourceImage & { region: string };
  to: RenderedSwrTarget;
}
export type TaskTarget = AcrTaskTarget | SwrTaskTarget;

/**
 * Where the cloud lists the task, and so how the sweep batches its reconciliation:
 * ACR lists sync tasks per source instance; SWR lists sync jobs per source repository.
 */
export function scopeOf(t: TaskTarget): string {
  return t.to.provider === 'acr' ? (t.from as AcrTaskTarget['from']).instanceId : `${t.from.region}/${t.from.namespace}/${t.from.repository}`;
}

export function taskSpecOf(m: MatchedTarget, now: number): TaskSpec {
  const target = { from: m.from, to: m.target } as TaskTarget;
  return {
    provider: m.target.provider,
    target: target as unknown as Record<string, unknown>,
    targetKey: m.targetKey,
    rule: m.rule,
    scope: scopeOf(target),
    maxAttempts: m.policy.maxAttempts,
    nextAttemptAt: now,
    policy: m.policy,
  };
}

/**
 * Exponential backoff with "equal" jitter: uniform in [c/2, c] where c = min(max, initial × multiplier^(attempt-1)).
 * Half the ceiling is always waited, so retries of many tasks spread out but never hammer the cloud.
 */
export function backoffMs(policy: Policy, attempt: number, random: () => number = Math.random): number {
  const { initialSeconds, maxSeconds, multiplier } = policy.backoff;
  const ceiling = Math.min(maxSeconds, initialSeconds * Math.pow(multiplier, Math.max(0, attempt - 1))) * 1000;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
