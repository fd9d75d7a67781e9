import type { TaskSpec } from '../ledger/index.ts';
import { providerNamed } from '../providers/registry.ts';
import type { MatchedTarget } from '../rules/match.ts';

/** The ledger task for one matched target: its provider, where it goes, how the sweep batches it. */
export function taskSpecOf(m: MatchedTarget, now: number): TaskSpec {
  const target = { from: m.from, to: m.target };
  const provider = providerNamed(m.target.provider);
  if (!provider) throw new Error(`no provider "${m.target.provider}" is registered`);
  return {
    provider: provider.name,
    target: target as unknown as Record<string, unknown>,
    targetKey: m.targetKey,
    rule: m.rule,
    scope: provider.scopeOf(target),
    maxAttempts: m.policy.maxAttempts,
    nextAttemptAt: now,
    policy: m.policy as unknown as Record<string, unknown>,
  };
}
