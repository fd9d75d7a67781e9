/**
 * A delete event at a source, from resolved image to recorded deletion tasks. What is deleted is
 * decided by `replicate/deletions.ts` from the ledger alone: the tags Ferry copied this image to under
 * rules with `deletes: true`, where Ferry's copy is still the last write. One deletion replication per
 * deleted tag and digest, its idempotency keys distinct from the copy's, so a redelivery adds nothing.
 */
import type { Rule, Source } from '../config/index.ts';
import type { Ledger, RecordResult, TaskRow, TaskSpec } from '../ledger/index.ts';
import type { Deps } from '../replicate/deps.ts';
import { deletionTargets, type DeletionTarget, type Skipped } from '../replicate/deletions.ts';
import type { NormalizedPush } from './normalize.ts';

export interface DeletionOutcome {
  recorded: { result: RecordResult; image: { tag: string; digest: string }; targets: DeletionTarget[] }[];
  /** Targets left alone, and why (no `deletes`, overwritten since, another digest). */
  skipped: (Skipped & { rule: string | null })[];
  /** Why nothing at all is deleted, when that is the answer. */
  reason?: string;
}

/** What a delete event of one source image would delete, decided from the ledger alone (nothing is written). */
export interface DeletionPlan {
  /** One entry per deleted tag and the digest Ferry copied: the targets whose tags would be deleted. */
  groups: { tag: string; digest: string; targets: DeletionTarget[] }[];
  /** Targets left alone, and why (no `deletes`, overwritten since, another digest). */
  skipped: (Skipped & { rule: string | null })[];
  /** The copy tasks read: those of the image and every task that wrote one of their targets. */
  copies: TaskRow[];
  /** Why nothing at all would be deleted, when that is the answer. */
  reason?: string;
}

/** The deleted image as the source names it: by tag (and digest, when known), or by digest alone. */
export interface DeletedRef {
  source: string;
  namespace: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

/** Shared by the webhook (which then records the groups) and `plan` (which only shows them). */
export async function planDeletion(ledger: Pick<Ledger, 'copiesOf'>, rules: readonly Pick<Rule, 'name' | 'deletes'>[], img: DeletedRef): Promise<DeletionPlan> {
  const what = `${img.source}/${img.namespace}/${img.repository}${img.tag ? `:${img.tag}` : ''}${img.digest ? `@${img.digest}` : ''}`;
  const copies = await ledger.copiesOf({ source: img.source, namespace: img.namespace, repository: img.repository, tag: img.tag, digest: img.digest });
  const mine = copies.filter((t) => fromOf(t).namespace === img.namespace && fromOf(t).repository === img.repository && fromOf(t).source === img.source);
  const named = (t: TaskRow) => (img.tag ? fromOf(t).tag === img.tag : fromOf(t).digest === img.digest);
  const tags = [...new Set(mine.filter(named).map((t) => fromOf(t).tag))].filter((t): t is string => !!t);
  if (!tags.length) return { groups: [], skipped: [], copies, reason: `Ferry's ledger shows no copy of ${what}: nothing to delete` };

  const out: DeletionPlan = { groups: [], skipped: [], copies };
  const byId = new Map(copies.map((t) => [t.id, t]));
  for (const tag of tags) {
    const plan = deletionTargets({ source: img.source, namespace: img.namespace, repository: img.repository, tag, digest: img.digest }, copies, rules);
    out.skipped.push(...plan.skipped.map((s) => ({ ...s, rule: byId.get(s.taskId)?.rule ?? null })));
    for (const [digest, targets] of groupByDigest(plan.delete, out.skipped)) out.groups.push({ tag, digest, targets });
  }
  if (!out.groups.length) {
    out.reason = out.skipped.length
      ? `nothing Ferry copied of ${what} is its to delete (${out.skipped.map((s) => `${s.targetKey}: ${s.reason}`).join('; ')})`
      : `no copy of ${what} has succeeded: Ferry wrote nothing to delete`;
  }
  return out;
}

export async function recordDeletion(deps: Deps, push: NormalizedPush, matchAs: Source, meta: { requestId: string; announcedBy: string; receivedAt: number }): Promise<DeletionOutcome> {
  const plan = await planDeletion(deps.ledger, deps.config.rules, { source: matchAs.name, namespace: push.namespace, repository: push.repository, tag: push.tag, digest: push.digest });
  const out: DeletionOutcome = { recorded: [], skipped: plan.skipped, ...(plan.reason ? { reason: plan.reason } : {}) };
  const byId = new Map(plan.copies.map((t) => [t.id, t]));
  for (const { tag, digest, targets } of plan.groups) {
    const result = await deps.ledger.recordReplication(
      {
        action: 'delete',
        sourceKind: matchAs.kind,
        source: matchAs.name,
        region: 'region' in matchAs ? matchAs.region : undefined,
        namespace: push.namespace,
        repository: push.repository,
        tag,
        digest,
        pushedAt: push.pushedAt,
        eventId: push.eventId ?? null,
        receivedAt: meta.receivedAt,
        rules: [...new Set(targets.map((t) => t.rule))],
        details: { format: push.format, announcedBy: meta.announcedBy, requestId: meta.requestId, provenBy: Object.fromEntries(targets.map((t) => [t.targetKey, t.taskId])) },
      },
      await Promise.all(targets.map(async (t) => specOf(byId.get(t.taskId)!, await writtenDigest(deps, t.taskId), meta.receivedAt))),
    );
    out.recorded.push({ result, image: { tag, digest }, targets });
  }
  return out;
}

const fromOf = (t: TaskRow) => (t.target as { from: { source: string; namespace: string; repository: string; tag?: string; digest?: string } }).from;

/** The deletion keys its tasks by the digest Ferry copied: a copy recorded without one cannot be told apart, and is left alone. */
function groupByDigest(targets: readonly DeletionTarget[], skipped: DeletionPlan['skipped']): Map<string, DeletionTarget[]> {
  const groups = new Map<string, DeletionTarget[]>();
  for (const t of targets) {
    const digest = t.target.from.digest;
    if (!digest) {
      skipped.push({ taskId: t.taskId, targetKey: t.targetKey, rule: t.rule, reason: 'Ferry copied it without knowing its digest, so the ledger cannot prove which image it is' });
      continue;
    }
    groups.set(digest, [...(groups.get(digest) ?? []), t]);
  }
  return groups;
}

/** The digest the copy reported writing at its target (the copy provider's `targetDigest` on success), if any. */
async function writtenDigest(deps: Deps, copyTaskId: string): Promise<string | undefined> {
  const detail = await deps.ledger.getTask(copyTaskId);
  const done = detail?.events.findLast((e) => e.toState === 'succeeded');
  const digest = done?.details.targetDigest;
  return typeof digest === 'string' ? digest : undefined;
}

/** The deletion task of one target: the copy's own target, scope and policy (where and how it was written). */
function specOf(copy: TaskRow, written: string | undefined, now: number): TaskSpec {
  return {
    provider: copy.provider,
    target: written ? { ...copy.target, written: { digest: written } } : copy.target,
    targetKey: copy.targetKey,
    rule: copy.rule,
    scope: copy.scope,
    maxAttempts: copy.policy.maxAttempts,
    nextAttemptAt: now,
    policy: copy.policy as unknown as Record<string, unknown>,
  };
}
