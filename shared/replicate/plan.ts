/**
 * What a push would do, without doing it: which rules match it (and why the others do not), where
 * each target renders to or which naming rule it breaks, whether the target already holds the image,
 * and what the ledger already has for it. Reads only: no ledger row, no cloud task is created.
 */
import type { FerryConfig, Source } from '../config/index.ts';
import { CloudNotFoundError } from '../clients/errors.ts';
import { idempotencyKey, type Ledger, type TaskRow } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { Connections } from '../providers/connections.ts';
import { providersFeedingFrom } from '../providers/registry.ts';
import type { RenderedTarget, SourceImage } from '../providers/types.ts';
import { explainPush, type MatchedTarget } from '../rules/match.ts';
import type { PushEvent } from '../rules/event.ts';
import { finish } from '../webhook/source.ts';
import { type DeletionPlan, planDeletion } from '../webhook/deletions.ts';
import { errorInfo, type ErrorInfo } from './submit.ts';

export interface PlanInput {
  source: string;
  namespace: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

export interface PlanDeps {
  config: Pick<FerryConfig, 'sources' | 'rules'>;
  clouds: Connections;
  ledger: Pick<Ledger, 'tasksByKeys' | 'copiesOf'>;
  clock: Clock;
  log: Logger;
}

/** Whether the target holds the pushed image: compared by digest where the provider can read the target. */
export type AtTarget =
  | { state: 'present'; digest: string }
  | { state: 'different'; digest: string }
  | { state: 'absent' }
  /** Not asked: the provider cannot read the target, or the source digest is unknown. */
  | { state: 'unknown'; reason: string }
  | { state: 'error'; error: ErrorInfo };

export interface PlannedTarget {
  targetIndex: number;
  provider?: string;
  targetKey?: string;
  target?: RenderedTarget;
  /** The naming rule the rendered target breaks (then nothing else is known of it). */
  error?: { field: string; reason: string };
  atTarget?: AtTarget;
  /** The ledger's task for this image and target, when there is one. */
  task?: { id: string; state: string };
  /** What a push now would do for this target. */
  action: 'create' | 'skip' | 'duplicate' | 'reopen' | 'refused';
  /** Whether a delete event of this image at the source would delete the tag here (deletion replication). */
  onDelete?: OnDelete;
}

/** A delete event's effect on one target: only tags Ferry's ledger proves it copied, under rules with `deletes: true`. */
export type OnDelete = { delete: true; copyTaskId: string } | { delete: false; reason: string; copyTaskId?: string };

/** What a delete event of this image would do: every target the ledger shows Ferry copied it to. */
export interface PlannedDeletion {
  targets: { rule: string; targetKey: string; copyTaskId: string; tag: string; digest: string }[];
  skipped: { rule: string | null; targetKey: string; copyTaskId: string; reason: string }[];
  /** Why nothing would be deleted, when that is the answer. */
  reason?: string;
}

export interface PlannedRule {
  rule: string;
  matched: boolean;
  reason?: string;
  targets: PlannedTarget[];
}

export interface Plan {
  image: { source: string; kind: string; namespace: string; repository: string; tag?: string; digest?: string };
  /** The source rules see the push as (a registry's `mirrorOf`), when not the source itself. */
  matchedAs?: string;
  digest: { value: string | null; from: 'given' | 'source' | null; error?: ErrorInfo };
  rules: PlannedRule[];
  /** Targets a push now would create tasks for (and re-open: failed, canceled, timed out). */
  wouldCreate: number;
  wouldReopen: number;
  /** What a delete event of this image (its tag, at the digest compared) would delete; nothing is deleted. */
  deletion: PlannedDeletion;
  /** Why no rule applies at all, when none does. */
  reason?: string;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; field: string; message: string };

export async function planPush(input: PlanInput, deps: PlanDeps): Promise<PlanResult> {
  const sources = deps.config.sources;
  const source = sources.find((s) => s.name === input.source);
  if (!source) return { ok: false, field: 'source', message: `no source "${input.source}" is configured (configured: ${sources.map((s) => s.name).join(', ') || 'none'})` };
  const resolved = finish(source, input, sources);
  if (!resolved.ok) return { ok: false, field: resolved.field, message: resolved.message };
  const image = {
    source: source.name,
    kind: source.kind,
    namespace: input.namespace,
    repository: input.repository,
    ...(input.tag ? { tag: input.tag } : {}),
    ...(input.digest ? { digest: input.digest } : {}),
  };
  const matchAs = resolved.matchAs;
  if (!matchAs) {
    const reason = `source "${source.name}" is a ${source.kind} registry no registered provider copies from (its mirrorOf names no source one does)`;
    const deletion = plannedDeletion(await planDeletion(deps.ledger, deps.config.rules, { ...input, source: source.name }));
    return { ok: true, plan: { image, digest: { value: input.digest ?? null, from: input.digest ? 'given' : null }, rules: [], wouldCreate: 0, wouldReopen: 0, deletion, reason } };
  }
  const digest = input.digest ? { value: input.digest, from: 'given' as const } : await sourceDigest(matchAs, input, deps);
  const event: PushEvent = {
    sourceKind: matchAs.kind as PushEvent['sourceKind'],
    source: matchAs.name,
    namespace: input.namespace,
    repository: input.repository,
    tag: input.tag,
    digest: digest.value ?? undefined,
    pushedAt: new Date(deps.clock.now()),
  };
  const { targets, rules: verdicts } = explainPush(event, deps.config);
  const matched = targets.filter((t): t is MatchedTarget => t.ok);
  const tasks = await existingTasks(matched, event, digest.value, deps);
  const checks = await Promise.all(matched.map((m) => atTarget(m, digest.value, deps)));
  const deletion = plannedDeletion(await planDeletion(deps.ledger, deps.config.rules, { ...input, source: matchAs.name, digest: digest.value ?? undefined }));
  const planned = new Map<string, PlannedTarget[]>();
  const add = (rule: string, t: PlannedTarget) => planned.set(rule, [...(planned.get(rule) ?? []), t]);
  matched.forEach((m, i) => {
    const task = tasks.get(m.targetKey);
    const at = checks[i]!;
    add(m.rule, {
      targetIndex: m.targetIndex,
      provider: m.target.provider,
      targetKey: m.targetKey,
      target: m.target,
      atTarget: at,
      ...(task ? { task: { id: task.id, state: task.state } } : {}),
      action: actionFor(task, at),
      onDelete: onDeleteOf(m.targetKey, deletion),
    });
  });
  for (const t of targets) if (!t.ok) add(t.rule, { targetIndex: t.targetIndex, error: { field: `rules.${t.rule}.${t.field}`, reason: t.reason }, action: 'refused' });
  const rules: PlannedRule[] = verdicts.map((v) =>
    v.matched ? { rule: v.rule, matched: true, targets: (planned.get(v.rule) ?? []).sort((a, b) => a.targetIndex - b.targetIndex) } : { rule: v.rule, matched: false, reason: v.reason, targets: [] },
  );
  const all = rules.flatMap((r) => r.targets);
  const plan: Plan = {
    image,
    ...(matchAs.name !== source.name ? { matchedAs: matchAs.name } : {}),
    digest,
    rules,
    wouldCreate: all.filter((t) => t.action === 'create').length,
    wouldReopen: all.filter((t) => t.action === 'reopen').length,
    deletion,
  };
  if (!targets.length) plan.reason = verdicts.length ? 'no rule matches this image' : 'no rules are configured';
  return { ok: true, plan };
}

function plannedDeletion(p: DeletionPlan): PlannedDeletion {
  return {
    targets: p.groups.flatMap((g) => g.targets.map((t) => ({ rule: t.rule, targetKey: t.targetKey, copyTaskId: t.taskId, tag: g.tag, digest: g.digest }))),
    skipped: p.skipped.map((s) => ({ rule: s.rule, targetKey: s.targetKey, copyTaskId: s.taskId, reason: s.reason })),
    ...(p.reason ? { reason: p.reason } : {}),
  };
}

/** A target is deleted when any copy of the image proves it (a target may have been written more than once). */
function onDeleteOf(targetKey: string, d: PlannedDeletion): OnDelete {
  const del = d.targets.find((t) => t.targetKey === targetKey);
  if (del) return { delete: true, copyTaskId: del.copyTaskId };
  const kept = d.skipped.find((t) => t.targetKey === targetKey);
  if (kept) return { delete: false, reason: kept.reason, copyTaskId: kept.copyTaskId };
  return { delete: false, reason: "Ferry's ledger shows no succeeded copy of this image here" };
}

function actionFor(task: TaskRow | undefined, at: AtTarget): PlannedTarget['action'] {
  if (task) return task.state === 'failed' || task.state === 'canceled' || task.state === 'timed_out' ? 'reopen' : 'duplicate';
  return at.state === 'present' ? 'skip' : 'create';
}

/** The digest of the tag at the source, asked of the providers that copy from its kind; a lookup failure is reported, not thrown. */
async function sourceDigest(matchAs: Source, input: PlanInput, deps: PlanDeps): Promise<Plan['digest']> {
  if (!input.tag) return { value: null, from: null };
  const image: SourceImage = {
    source: matchAs.name,
    kind: matchAs.kind,
    namespace: input.namespace,
    repository: input.repository,
    tag: input.tag,
    ...('instanceId' in matchAs ? { instanceId: matchAs.instanceId } : {}),
    ...('region' in matchAs ? { region: matchAs.region } : {}),
  };
  let error: ErrorInfo | undefined;
  for (const p of providersFeedingFrom(matchAs.kind)) {
    const cloud = deps.clouds.of(p.name);
    if (!cloud.resolveDigest) continue;
    try {
      const found = await cloud.resolveDigest(image, deps);
      if (found) return { value: found, from: 'source' };
    } catch (err) {
      if (!(err instanceof CloudNotFoundError)) error = errorInfo(err);
    }
  }
  return error ? { value: null, from: null, error } : { value: null, from: null };
}

/** The ledger's tasks for this image at these targets (keyed like a push with this digest would be). */
async function existingTasks(matched: MatchedTarget[], event: PushEvent, digest: string | null, deps: PlanDeps): Promise<Map<string, TaskRow>> {
  if (!digest || !matched.length) return new Map();
  const img = { sourceKind: event.sourceKind, source: event.source, namespace: event.namespace, repository: event.repository, tag: event.tag ?? null, digest };
  const keys = new Map(matched.map((m) => [idempotencyKey(img, m.targetKey), m.targetKey]));
  const rows = await deps.ledger.tasksByKeys([...keys.keys()]);
  return new Map(rows.map((t) => [keys.get(t.idempotencyKey)!, t]));
}

async function atTarget(m: MatchedTarget, digest: string | null, deps: PlanDeps): Promise<AtTarget> {
  const cloud = deps.clouds.of(m.target.provider);
  if (!cloud.targetDigest) return { state: 'unknown', reason: `the ${m.target.provider} provider cannot read what the target holds` };
  if (!digest) return { state: 'unknown', reason: 'the source digest is unknown: give one, or a tag the source has' };
  try {
    const held = await cloud.targetDigest({ from: m.from, to: m.target }, deps);
    if (held === null) return { state: 'absent' };
    return held === digest ? { state: 'present', digest: held } : { state: 'different', digest: held };
  } catch (err) {
    deps.log.warn('plan: target not read', { provider: m.target.provider, targetKey: m.targetKey, error: errorInfo(err) });
    return { state: 'error', error: errorInfo(err) };
  }
}
