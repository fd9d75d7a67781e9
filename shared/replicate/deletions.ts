/**
 * Deletion replication's one decision, pure so `plan`, `--dry-run` and the webhook share it: which
 * targets a deletion of a source image removes. Only targets Ferry's ledger proves it replicated the
 * image to (a succeeded task for that source image and target) under a rule with `deletes: true`, and
 * only where that task is the last one that wrote the target: a tag another source image (or another
 * rule's copy) wrote there later is not this image's to delete.
 */
import type { Rule } from '../config/index.ts';
import type { TaskRow } from '../ledger/index.ts';
import { targetOf } from '../providers/registry.ts';
import type { TaskTarget } from '../providers/types.ts';

/** The deleted source image: its tag, and its digest when the event names one. */
export interface DeletedImage {
  source: string;
  namespace: string;
  repository: string;
  tag: string;
  digest?: string | undefined;
}

export interface DeletionTarget {
  /** The succeeded copy task that proves Ferry put the tag there. */
  taskId: string;
  provider: string;
  rule: string;
  targetKey: string;
  target: TaskTarget;
}

export interface Skipped {
  taskId: string;
  targetKey: string;
  reason: string;
}

const sameImage = (t: TaskTarget, img: DeletedImage) => t.from.source === img.source && t.from.namespace === img.namespace && t.from.repository === img.repository && t.from.tag === img.tag;

/**
 * `tasks`: every ledger task that wrote one of the targets (any source image), e.g. all tasks with the
 * image's target keys. Returns what to delete and what was left alone, with why.
 */
export function deletionTargets(image: DeletedImage, tasks: readonly TaskRow[], rules: readonly Pick<Rule, 'name' | 'deletes'>[]): { delete: DeletionTarget[]; skipped: Skipped[] } {
  const deletes = new Set(rules.filter((r) => r.deletes).map((r) => r.name));
  const lastWriter = new Map<string, TaskRow>();
  for (const t of tasks) {
    if (t.state !== 'succeeded' || !t.finishedAt) continue;
    const prev = lastWriter.get(t.targetKey);
    if (!prev || prev.finishedAt! < t.finishedAt) lastWriter.set(t.targetKey, t);
  }
  const out: DeletionTarget[] = [];
  const skipped: Skipped[] = [];
  for (const t of tasks) {
    if (t.state !== 'succeeded') continue;
    const target = targetOf(t);
    if (!sameImage(target, image)) continue;
    const why = (reason: string) => skipped.push({ taskId: t.id, targetKey: t.targetKey, reason });
    if (!t.rule || !deletes.has(t.rule)) why(`rule ${t.rule ?? '(none)'} does not replicate deletions (deletes: false)`);
    else if (image.digest && target.from.digest && target.from.digest !== image.digest) why(`Ferry copied ${target.from.digest} there, not the deleted ${image.digest}`);
    else if (lastWriter.get(t.targetKey)?.id !== t.id) why('a later copy from another source image wrote this target');
    else if (!out.some((o) => o.targetKey === t.targetKey)) out.push({ taskId: t.id, provider: t.provider, rule: t.rule, targetKey: t.targetKey, target });
  }
  return { delete: out, skipped };
}
