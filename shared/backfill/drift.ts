/**
 * Drift at a target the ledger says is done: a tag Ferry copied that someone later deleted or overwrote
 * there, or a failure the retries gave up on. The ledger's task for the image and target is looked at
 * where it stands: a finished one (see DRIFT_REOPENABLE_STATES) is checked at the target and, when the
 * target lacks the image or holds another, re-opened through the re-run path (a fresh attempt budget, an
 * event naming who and why), so it copies again and is verified like any other. A tag replaced at a
 * target whose `override` is off is refused, not re-opened (the sync would only fail with a conflict).
 * Tasks still in flight are the sweep's; nothing here touches them.
 */
import { isDriftReopenable, type KeyedTask } from '../ledger/index.ts';
import type { MatchedTarget } from '../rules/match.ts';
import { errorInfo } from '../replicate/submit.ts';
import { refuse, type WalkCounts } from './counts.ts';
import type { WalkEnv } from './images.ts';

export interface CheckedImage {
  name: string;
  /** The source's digest (null when the image is keyed by push time: only presence can be checked). */
  digest: string | null;
}

/** The digest the target holds under the tag (null: none); undefined when it could not be told (counted as unchecked). */
export async function digestAtTarget(env: WalkEnv, image: CheckedImage, m: MatchedTarget, counts: WalkCounts): Promise<string | null | undefined> {
  const cloud = env.deps.clouds.of(m.target.provider);
  if (!cloud.targetDigest) return undefined;
  try {
    return await env.limiter.run(() => cloud.targetDigest!({ from: m.from, to: m.target }, env.deps));
  } catch (err) {
    counts.unchecked++;
    env.deps.log.warn('walk: target not checked', { image: image.name, target: m.targetKey, error: errorInfo(err) });
    return undefined;
  }
}

export function needsDriftCheck(task: KeyedTask): boolean {
  return isDriftReopenable(task.state);
}

/** Checks a finished task's target and re-opens the task when the image is missing or different there. */
export async function repairDrift(env: WalkEnv, image: CheckedImage, m: MatchedTarget, task: KeyedTask, counts: WalkCounts): Promise<void> {
  if (!env.deps.clouds.of(m.target.provider).targetDigest) {
    counts.inLedger++;
    return;
  }
  const at = await digestAtTarget(env, image, m, counts);
  if (at === undefined) return;
  const drift = at === null ? 'missing' : image.digest !== null && at !== image.digest && at !== task.copiedDigest ? 'different' : null;
  if (drift === null) {
    counts.inLedger++;
    return;
  }
  if (drift === 'different' && (m.target as { override?: unknown }).override === false) {
    // What Ferry copied was replaced on purpose, and the target forbids overwriting: re-running would only fail with a conflict.
    refuse(counts, 'TargetHoldsAnother', {
      image: image.name,
      rule: env.rule.name,
      reason: `${m.targetKey} holds ${at}, not the ${task.copiedDigest ?? image.digest} Ferry copied, and the target's override is off (set it to replace the tag)`,
    });
    return;
  }
  if (env.dryRun) {
    counts.reopened++;
    return;
  }
  const by = env.origin.by;
  const reopened = await env.deps.ledger.reopenDrifted(task.id, {
    actor: by,
    reason: `${by === 'audit' ? 'drift audit' : 'backfill'}: ${drift} at target`,
    details: { runId: env.origin.runId, targetDigest: at, expectedDigest: task.copiedDigest ?? image.digest },
  });
  if (!reopened) {
    // It moved since it was read (re-run, or re-opened by another walker): its own state decides.
    counts.inLedger++;
    return;
  }
  counts.reopened++;
  env.deps.log.info('walk: re-opened a finished task the target lacks', { taskId: task.id, image: image.name, target: m.targetKey, drift, from: task.state, by });
}
