/**
 * The sweep: run by a timer, it drives every open task to an end state and tells people about
 * failures. Its cost follows the number of open tasks, never history: every read goes through the
 * open-task indexes and cloud listings stop once past the oldest open task.
 *
 * Phases, each stopping when the budget is spent (leases expire, so leftovers go to the next run):
 *   1. submit pending tasks the webhook did not finish (after the grace period) and due retries;
 *   2. reconcile each provider's tasks, scope by scope (ACR: per source instance; SWR: per source
 *      repository) — including operator cancels the API left unfinished and deadline cancels
 *      (timed_out → retry or fail);
 *   3. watch ECS image import/export tasks;
 *   4. prune finished history older than store.retentionDays (retention.ts: batches, through indexes);
 *   4b. audit each rule's sources for drift (audit.ts: a slice per run, from a cursor in the ledger, on
 *      the rule's interval, within a share of the time left);
 *   5. advance the work Ferry does itself (providers marked `doesWork`: the copy engine's slices),
 *      with whatever time is left, so a long copy never starves the phases above;
 *   6. deliver queued notifications (a reserve of the budget is kept for this).
 * Concurrent runs never act on the same task: every task is leased (ledger claims) before use.
 */
import type { Deps } from '../replicate/deps.ts';
import { deliverDue } from '../notify/deliver.ts';
import { observeCloudCalls } from '../clients/transport.ts';
import { watchEcs } from '../ecs/watch.ts';
import { providers } from '../providers/registry.ts';
import type { CloudProvider } from '../providers/types.ts';
import { type SweepOptions, createContext } from './context.ts';
import { reconcileProvider } from './reconcile.ts';
import { auditRules } from './audit.ts';
import { pruneHistory } from './retention.ts';
import { submitPending } from './submit-pending.ts';

export type { SweepOptions } from './context.ts';

export interface SweepSummary {
  owner: string;
  durationMs: number;
  /** `from→to` → count (ECS watches as `ecs:watching→ecs:<state>`). */
  transitions: Record<string, number>;
  /** `<provider>:<action>` → requests sent (retries included), counted by the transport. */
  cloudCalls: Record<string, number>;
  cloudCallsTotal: number;
  notifications: { sent: number; failed: number; dead: number };
  /** Other counters: adoptions, stragglers, skipped races, deadline/cancel results, leftovers. */
  events: Record<string, number>;
  errors: number;
  /** True when the budget ran out before every phase finished. */
  leftover: boolean;
}

export async function runSweep(deps: Deps, opts: SweepOptions = {}): Promise<SweepSummary> {
  const { ctx, elapsed } = createContext(deps, opts);
  await markStarted(deps, ctx.owner, ctx.leaseMs);
  return observeCloudCalls(
    (provider, action) => ctx.stats.call(`${provider}:${action}`),
    async () => {
      const reconcile = (p: CloudProvider): [string, () => Promise<void>] => [p.name, () => reconcileProvider(ctx, p)];
      const phases: Array<[string, () => Promise<void>]> = [
        ['submit', () => submitPending(ctx)],
        ...providers()
          .filter((p) => !p.doesWork)
          .map(reconcile),
        ['ecs', () => watchEcs(ctx)],
        ['retention', () => pruneHistory(ctx)],
        ['audit', () => auditRules(ctx)],
        ...providers()
          .filter((p) => p.doesWork)
          .map(reconcile),
      ];
      let leftover = false;
      for (const [name, phase] of phases) {
        if (!ctx.hasTime()) {
          leftover = true;
          ctx.stats.event(`leftover.phase.${name}`);
          continue;
        }
        try {
          await phase();
        } catch (err) {
          // A phase that fails (ledger unreachable, …) does not stop the others.
          ctx.stats.errors++;
          deps.log.error('sweep phase failed', { phase: name, error: err instanceof Error ? err.message : String(err) });
        }
      }
      let notifications = { sent: 0, failed: 0, dead: 0 };
      try {
        notifications = await deliverDue(deps, { owner: ctx.owner, now: ctx.now, hasTime: ctx.hasAnyTime, timeoutMs: Math.min(10_000, Math.max(1_000, ctx.remainingMs())) });
      } catch (err) {
        ctx.stats.errors++;
        deps.log.error('sweep phase failed', { phase: 'notify', error: err instanceof Error ? err.message : String(err) });
      }
      if (!ctx.hasTime()) leftover = true;
      const summary: SweepSummary = {
        owner: ctx.owner,
        durationMs: Math.round(elapsed()),
        transitions: { ...ctx.stats.transitions },
        cloudCalls: { ...ctx.stats.cloudCalls },
        cloudCallsTotal: ctx.stats.totalCloudCalls,
        notifications,
        events: { ...ctx.stats.events },
        errors: ctx.stats.errors,
        leftover,
      };
      deps.log.info('sweep', { ...summary });
      await recordSweep(deps, summary);
      return summary;
    },
  );
}

/** Running, for the webhook's wakes (none while a sweep runs); a sweep that cannot say so still runs. */
async function markStarted(deps: Deps, owner: string, leaseMs: number): Promise<void> {
  try {
    await deps.ledger.metrics.sweepStarted(owner, deps.clock.now() + leaseMs);
  } catch (err) {
    deps.log.warn('sweep start not recorded', { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The last completed sweep and the audit's drift, for /metrics and /healthz; a sweep whose record fails still ran. */
async function recordSweep(deps: Deps, s: SweepSummary): Promise<void> {
  try {
    await deps.ledger.metrics.recordSweep({
      owner: s.owner,
      durationMs: s.durationMs,
      cloudCalls: s.cloudCallsTotal,
      leftover: s.leftover,
      errors: s.errors,
      driftFound: s.events['audit.drift.found'] ?? 0,
      driftRepaired: s.events['audit.drift.repaired'] ?? 0,
      summary: { transitions: s.transitions, cloudCalls: s.cloudCalls, notifications: s.notifications, events: s.events },
    });
  } catch (err) {
    deps.log.warn('sweep summary not recorded', { error: err instanceof Error ? err.message : String(err) });
  }
}
