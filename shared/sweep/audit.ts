/**
 * The drift audit: each rule (unless `audit: false`) walks its sources' inventories as a backfill does
 * (shared/backfill/walk.ts), a slice per sweep from the cursor the last one left in the ledger, a new
 * pass starting `audit.every` after the last ended; tasks are created for images missing or different
 * at a target. It catches lost webhooks and repositories nobody registered a trigger for. It takes at
 * most AUDIT_SHARE of the time left, so the phases after it (the copy engine's work) still run, and
 * the walk least recently advanced goes first, so one large rule cannot starve the others.
 */
import { walkableSources } from '../backfill/scope.ts';
import { registryLimiter } from '../backfill/run.ts';
import { walkSource } from '../backfill/walk.ts';
import type { SweepContext } from './context.ts';

export const AUDIT_RUN = 'audit';
/** The share of the sweep's remaining time the audit may use. */
export const AUDIT_SHARE = 0.4;

export async function auditRules(ctx: SweepContext): Promise<void> {
  const { deps } = ctx;
  const stopAt = ctx.remainingMs() * (1 - AUDIT_SHARE);
  const hasTime = () => ctx.hasTime() && ctx.remainingMs() > stopAt;
  const lastWalked = new Map((await deps.ledger.walks.list(AUDIT_RUN)).map((r) => [`${r.rule}/${r.source}`, r.passStartedAt && !r.finishedAt ? '' : (r.lastFullPassAt ?? '')]));
  const walks = deps.config.rules
    .flatMap((rule) => (rule.audit ? walkableSources(rule, deps.config).sources.map((source) => ({ rule, source, everyMs: rule.audit ? rule.audit.everyMs : 0 })) : []))
    .sort((a, b) => (lastWalked.get(`${a.rule.name}/${a.source.name}`) ?? '').localeCompare(lastWalked.get(`${b.rule.name}/${b.source.name}`) ?? ''));
  for (const { rule, source, everyMs } of walks) {
    if (!hasTime()) {
      ctx.stats.event('leftover.audit');
      break;
    }
    const env = { deps, rule, source, dryRun: false, origin: { by: 'audit' as const, runId: AUDIT_RUN }, limiter: registryLimiter(source) };
    const r = await walkSource(env, {
      store: deps.ledger.walks,
      key: { runId: AUDIT_RUN, rule: rule.name, source: source.name },
      owner: ctx.owner,
      leaseMs: ctx.leaseMs,
      hasTime,
      restartFinishedBefore: ctx.now() - everyMs,
    });
    if (r.status === 'busy' || r.status === 'finished') continue;
    const d = (k: 'repositories' | 'found' | 'created' | 'refused' | 'alreadyThere' | 'inLedger' | 'unchecked') => r.counts[k] - r.before[k];
    const drift = d('created') + d('unchecked');
    ctx.stats.event('audit.repositories', d('repositories'));
    ctx.stats.event('audit.images', d('found'));
    ctx.stats.event('audit.drift.found', drift + d('refused'));
    ctx.stats.event('audit.drift.repaired', d('created'));
    ctx.stats.event('audit.refused', d('refused'));
    if (r.status === 'done') ctx.stats.event('audit.passes');
    if (r.status === 'partial') ctx.stats.event('leftover.audit');
    if (r.status === 'error') ctx.stats.errors++;
    if (drift || d('refused') || r.status === 'error') {
      deps.log.warn('audit found drift', {
        rule: rule.name,
        source: source.name,
        status: r.status,
        repositories: d('repositories'),
        missing: drift,
        repaired: d('created'),
        refused: d('refused'),
        ...(r.status === 'error' ? { error: r.error } : {}),
      });
    }
  }
}
