/**
 * A backfill: every chosen rule over every source it copies from (walk.ts), until done or out of time.
 * Asked again with the same arguments, it resumes from the ledger's cursors; once all of them are done,
 * asking again starts a new pass. A dry run keeps its cursors in memory and returns them as a token.
 */
import { getAccountLimiter } from '../clients/transport.ts';
import type { Source } from '../config/index.ts';
import { addCounts, emptyCounts, type WalkCounts } from './counts.ts';
import { type CursorStore, MemoryCursors } from './cursors.ts';
import type { WalkDeps } from './images.ts';
import type { BackfillPlan } from './request.ts';
import { walkableSources } from './scope.ts';
import { walkSource, type WalkResult } from './walk.ts';

/** Each source registry's cap for walks (the limiter defaults), under the transport's per-account limiter for cloud APIs. */
export function registryLimiter(source: Source) {
  return getAccountLimiter(`registry:${source.name}`);
}

export interface WalkReport {
  rule: string;
  source: string;
  status: WalkResult['status'];
  counts?: WalkCounts;
  error?: { code: string; message: string };
}

export interface BackfillResult {
  runId: string;
  dryRun: boolean;
  /** Every walk reached the end of its inventory. */
  done: boolean;
  summary: WalkCounts;
  walks: WalkReport[];
  /** Sources a rule names that no provider can list. */
  skipped: { rule: string; source: string; reason: string }[];
  /** Dry run: pass back as `cursor` to continue. */
  cursor?: string;
}

export interface BackfillOptions {
  owner: string;
  hasTime(): boolean;
  /** A dry run's token from the previous call. */
  dryRunFrom?: ConstructorParameters<typeof MemoryCursors>[0] | undefined;
  onProgress?: ((summary: WalkCounts, at: string) => void) | undefined;
}

export async function runBackfill(deps: WalkDeps, plan: BackfillPlan, o: BackfillOptions): Promise<BackfillResult> {
  const memory = plan.dryRun ? new MemoryCursors(o.dryRunFrom) : undefined;
  const store: CursorStore = memory ?? deps.ledger.walks;
  const pairs = plan.rules.flatMap((rule) => walkableSources(rule, deps.config).sources.map((source) => ({ rule, source })));
  const skipped = plan.rules.flatMap((rule) => walkableSources(rule, deps.config).skipped.map((s) => ({ rule: rule.name, ...s })));
  const restart = memory ? null : await everyWalkDone(deps, plan.runId, pairs.length);
  const walks: WalkReport[] = [];
  const before = emptyCounts();
  for (const { rule, source } of pairs) {
    const key = { runId: plan.runId, rule: rule.name, source: source.name };
    const env = { deps, rule, source, dryRun: plan.dryRun, origin: { by: 'backfill' as const, runId: plan.runId }, since: plan.since, limiter: registryLimiter(source) };
    const progress = o.onProgress && ((c: WalkCounts, at: string) => o.onProgress!(addCounts(structuredClone(before), c), `${rule.name} ${source.name}/${at}`));
    const r = await walkSource(env, { store, key, owner: o.owner, leaseMs: 5 * 60_000, hasTime: o.hasTime, restartFinishedBefore: restart, repository: plan.repository, onProgress: progress });
    walks.push({ rule: rule.name, source: source.name, status: r.status, ...('counts' in r ? { counts: r.counts } : {}), ...('error' in r ? { error: r.error } : {}) });
    if ('counts' in r) addCounts(before, r.counts);
  }
  const summary = walks.reduce((s, w) => (w.counts ? addCounts(s, w.counts) : s), emptyCounts());
  const done = walks.every((w) => w.status === 'done' || w.status === 'finished');
  deps.log.info('backfill', { runId: plan.runId, dryRun: plan.dryRun, done, ...summary, examples: summary.examples.length });
  return { runId: plan.runId, dryRun: plan.dryRun, done, summary, walks, skipped, ...(memory && !done ? { cursor: memory.token() } : {}) };
}

/** When every walk of the run ended, a new pass starts from the beginning (its cursors' ends are before now). */
async function everyWalkDone(deps: WalkDeps, runId: string, walks: number): Promise<number | null> {
  const rows = await deps.ledger.walks.list(runId);
  return walks > 0 && rows.length >= walks && rows.every((r) => r.finishedAt !== null) ? deps.clock.now() : null;
}
