import { CloudNotFoundError } from '../clients/errors.ts';
import type { WebhookToken } from '../config/index.ts';
import { withoutQueueing } from '../clients/transport.ts';
import { imageName, isRerunnable, LedgerInputError, type RecordResult, type TaskRow } from '../ledger/index.ts';
import { WWW_AUTHENTICATE } from '../http/auth.ts';
import { errorBody, type ErrorCode, type ErrorEnvelope } from '../http/errors.ts';
import { clip, redact } from '../log.ts';
import type { Connections } from '../providers/connections.ts';
import type { Deps } from '../replicate/deps.ts';
import { errorInfo, submitTask, type ErrorInfo, type SubmitContext, type SubmitResult } from '../replicate/submit.ts';
import { taskSpecOf } from '../replicate/target.ts';
import type { PushEvent } from '../rules/event.ts';
import { explainPush, type MatchedTarget, type RenderedTarget, type RuleVerdict, type TargetError } from '../rules/match.ts';
import { providersFeedingFrom } from '../providers/registry.ts';
import { tokenCovers } from './auth.ts';
import { runPool, withinBudget } from './budget.ts';
import { normalizeWebhook, type NormalizedPush, type WebhookKind } from './normalize.ts';
import { type DeletionOutcome, recordDeletion } from './deletions.ts';
import { resolveSource, type ResolvedSource } from './source.ts';

/**
 * One delivery, from parsed body to answer: normalize → resolve the source → match rules →
 * record (one transaction per push) → submit the new tasks within the budget → report.
 */

export interface Delivery {
  kind: WebhookKind;
  /** Lowercased names. */
  headers: Record<string, string>;
  query: URLSearchParams;
  body: string;
  requestId: string;
  /** The configured token the request authenticated with. */
  token: WebhookToken;
  /** Epoch ms (deps.clock) the request arrived; the budget runs from here. */
  receivedAt: number;
}

export interface WebhookRuntime {
  deps: Deps;
  /** Clients for submissions: timeouts within the budget, budget-aware retry waits. */
  clouds: Connections;
  /** Told when a delivery left tasks to the sweep, so they need not wait for its next timer tick. */
  /** Wakes the sweep; resolves when the wake is sent (never rejects). */
  wakeSweep?: (() => Promise<void>) | undefined;
}

/** A refusal's body: the shared error envelope (shared/http/errors.ts). */
export type ErrorBody = ErrorEnvelope;

export type TargetEntry = {
  rule: string;
  targetKey?: string;
  target?: RenderedTarget;
  taskId?: string;
  state: string;
  duplicate?: boolean;
  /** The task had failed (or was canceled, or timed out): this delivery re-opened it. */
  reopened?: boolean;
  cloudRef?: string;
  /** Recorded, not submitted: the cloud had no capacity for it now; the sweep submits it (woken for it). */
  deferredToSweep?: boolean;
  error?: { code: string; message: string; field?: string; requestId?: string | null };
};

export interface ReplicationEntry {
  replicationId: string;
  /** `delete`: the targets' tags are deleted (a delete event at the source). */
  action?: 'delete';
  created: boolean;
  image: { source: string; namespace: string; repository: string; tag?: string; digest?: string };
  targets: TargetEntry[];
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export function errorAnswer(status: number, code: ErrorCode, message: string, field?: string): Answer {
  return { status, body: errorBody(status, code, message, field ? { field } : {}) };
}

/** 401, with the WWW-Authenticate header every Ferry 401 carries. */
export function unauthorized(message: string): Answer {
  return { ...errorAnswer(401, 'Unauthorized', message), headers: { 'www-authenticate': WWW_AUTHENTICATE } };
}

const CODES: Record<number, ErrorCode> = { 400: 'InvalidBody', 401: 'Unauthorized', 413: 'PayloadTooLarge', 415: 'UnsupportedMediaType', 422: 'InvalidEvent' };

interface Planned {
  push: NormalizedPush;
  resolved: ResolvedSource;
  /** The pushed digest, or the one resolved at the source for a push that names none. */
  digest: string | undefined;
}

export async function handleDelivery(d: Delivery, rt: WebhookRuntime): Promise<Answer> {
  const { deps } = rt;
  const budgetMs = deps.config.webhook.submitBudgetMs;
  const deadline = d.receivedAt + budgetMs;
  const normalized = normalizeWebhook({ kind: d.kind, headers: d.headers, body: d.body, now: new Date(d.receivedAt) });
  if (!normalized.ok) return errorAnswer(normalized.status, CODES[normalized.status] ?? 'InvalidEvent', normalized.message, normalized.field);
  const ignored = [...normalized.ignored];
  const base = { requestId: d.requestId, kind: d.kind };
  if (!normalized.pushes.length) {
    const reason = ignored.join('; ') || 'no push in this event';
    logDelivery(rt, d, { sources: [], images: [], matched: 0, created: 0, duplicates: 0, ignored: ignored.length, reason: clip(reason, DELIVERY_REASON_MAX) });
    return { status: 200, body: { ...base, matched: 0, ignored, reason } };
  }

  // Resolve and authorize every push before recording any: a delivery is accepted or refused whole.
  const planned: Planned[] = [];
  for (const push of normalized.pushes) {
    const r = resolveSource(push, { source: d.query.get('source'), instance: d.query.get('instance') }, deps.config);
    if (!r.ok) return errorAnswer(r.status, r.code, r.message, r.field);
    // A scoped token used for another source is refused like a wrong token (401): it proves
    // nothing about this source, and a 403 would confirm the token is valid elsewhere.
    if (!tokenCovers(d.token, r.source.name)) return unauthorized('missing or invalid token');
    let digest = push.digest;
    if (!digest && !push.deleted && r.matchAs && replicates(push, r.matchAs, deps.config)) {
      const found = await resolveDigest(rt, d, r.matchAs, push);
      // Without a digest or an event id, this push could only be keyed by the time it arrived: a resend
      // would copy again. Better the sender retry than Ferry guess.
      if (found.unavailable && !push.eventId) {
        return {
          ...errorAnswer(503, 'Unavailable', `the digest of ${push.namespace}/${push.repository}:${push.tag} could not be read at the source (${found.unavailable}); retry the delivery`, 'digest'),
          headers: { 'retry-after': '5' },
        };
      }
      digest = found.digest;
    }
    planned.push({ push, resolved: r, digest });
  }

  const replications: ReplicationEntry[] = [];
  const reasons: string[] = [];
  const fresh: { task: string; entry: TargetEntry }[] = [];
  const skipped: SkippedDeletion[] = [];
  let matched = 0;
  for (const { push, resolved, digest } of planned) {
    const { source, matchAs } = resolved;
    if (!matchAs) {
      reasons.push(`source "${source.name}" is a ${source.kind} registry no registered provider copies from (its mirrorOf names no source one does)`);
      continue;
    }
    if (push.deleted) {
      let del: DeletionOutcome;
      try {
        del = await recordDeletion(deps, push, matchAs, { requestId: d.requestId, announcedBy: source.name, receivedAt: d.receivedAt });
      } catch (err) {
        if (err instanceof LedgerInputError) return errorAnswer(422, 'InvalidEvent', err.rule, err.field.replace(/^event\./, ''));
        throw err;
      }
      if (del.reason) reasons.push(del.reason);
      skipped.push(...del.skipped.map((s) => ({ rule: s.rule, targetKey: s.targetKey, copyTaskId: s.taskId, reason: s.reason })));
      for (const r of del.recorded) {
        matched += r.targets.length;
        replications.push(deletionEntry(r, matchAs.name, push, fresh));
      }
      continue;
    }
    const event = pushEvent(push, matchAs, digest);
    const { targets: results, rules: verdicts } = explainPush(event, deps.config);
    if (!results.length) {
      reasons.push(noMatchReason(event, verdicts));
      continue;
    }
    matched += results.length;
    const ok = results.filter((r): r is MatchedTarget => r.ok);
    const bad = results.filter((r): r is TargetError => !r.ok);
    let recorded: RecordResult;
    try {
      recorded = await deps.ledger.recordReplication(
        {
          sourceKind: matchAs.kind,
          source: matchAs.name,
          region: 'region' in matchAs ? matchAs.region : undefined,
          namespace: push.namespace,
          repository: push.repository,
          tag: push.tag ?? null,
          digest: digest ?? null,
          pushedAt: push.pushedAt,
          eventId: push.eventId ?? null,
          receivedAt: d.receivedAt,
          rules: [...new Set(results.map((r) => r.rule))],
          details: {
            format: push.format,
            announcedBy: source.name,
            requestId: d.requestId,
            ...(digest && !push.digest ? { digestResolved: true } : {}),
            ...(bad.length ? { targetErrors: bad.map((b) => ({ rule: b.rule, field: b.field, reason: b.reason })) } : {}),
          },
        },
        ok.map((m) => taskSpecOf(m, d.receivedAt)),
      );
    } catch (err) {
      // Values the ledger cannot key (e.g. "|" in a name): the event is unusable, not our failure.
      if (err instanceof LedgerInputError) return errorAnswer(422, 'InvalidEvent', err.rule, err.field.replace(/^event\./, ''));
      throw err;
    }
    const byKey = new Map(recorded.tasks.map((t) => [t.targetKey, t]));
    const reopened = await reopenFinished(rt, d, source.name, recorded);
    const targets: TargetEntry[] = ok.map((m) => {
      const t = byKey.get(m.targetKey)!;
      const entry: TargetEntry = { rule: m.rule, targetKey: m.targetKey, target: m.target, taskId: t.taskId, state: t.state };
      if (reopened.has(t.taskId)) {
        entry.reopened = true;
        entry.state = 'pending';
        fresh.push({ task: t.taskId, entry });
      } else if (!t.created) entry.duplicate = true;
      else fresh.push({ task: t.taskId, entry });
      return entry;
    });
    for (const b of bad) {
      targets.push({ rule: b.rule, state: 'failed', error: { code: 'InvalidTargetName', field: `rules.${b.rule}.${b.field}`, message: b.reason } });
    }
    replications.push({
      replicationId: recorded.replication.id,
      created: recorded.replicationCreated,
      image: {
        source: matchAs.name,
        namespace: push.namespace,
        repository: push.repository,
        ...(push.tag ? { tag: push.tag } : {}),
        ...(push.digest ? { digest: push.digest } : {}),
      },
      targets,
    });
  }

  await submitFresh(fresh, d, rt, deadline);

  const all = replications.flatMap((r) => r.targets);
  const reopened = all.filter((t) => t.reopened).length;
  const created = fresh.length - reopened;
  const duplicates = all.filter((t) => t.duplicate).length;
  const deferredToSweep = all.filter((t) => t.deferredToSweep).length;
  // Awaited: nothing may run after the answer, when the instance can be frozen. Debounced, so a burst pays once.
  if (deferredToSweep) await rt.wakeSweep?.();
  logDelivery(rt, d, {
    sources: [...new Set(planned.map((p) => p.resolved.source.name))],
    ...deliveryImages(planned),
    matched,
    created,
    duplicates,
    reopened,
    deferredToSweep,
    ignored: ignored.length,
    states: countStates(all),
    ...(reasons.length ? { reason: clip(reasons.join('; '), DELIVERY_REASON_MAX) } : {}),
  });
  const body: Record<string, unknown> = { ...base, matched, created, duplicates, reopened, deferredToSweep };
  if (replications.length) body.replicationId = replications[0]!.replicationId;
  body.replications = replications;
  if (ignored.length) body.ignored = ignored;
  if (skipped.length) body.skipped = skipped;
  if (reasons.length) body.reason = reasons.join('; ');
  return { status: replications.length ? 202 : 200, body };
}

/** A target a delete event leaves alone, and why. */
interface SkippedDeletion {
  rule: string | null;
  targetKey: string;
  /** The copy task that wrote the target. */
  copyTaskId: string;
  reason: string;
}

/** The answer's entry for one recorded deletion; its new tasks join `fresh` to be submitted. */
function deletionEntry(r: DeletionOutcome['recorded'][number], source: string, push: NormalizedPush, fresh: { task: string; entry: TargetEntry }[]): ReplicationEntry {
  const byKey = new Map(r.result.tasks.map((t) => [t.targetKey, t]));
  const targets = r.targets.map((m) => {
    const t = byKey.get(m.targetKey)!;
    const entry: TargetEntry = { rule: m.rule, targetKey: m.targetKey, target: m.target.to, taskId: t.taskId, state: t.state };
    if (!t.created) entry.duplicate = true;
    else fresh.push({ task: t.taskId, entry });
    return entry;
  });
  return {
    replicationId: r.result.replication.id,
    action: 'delete',
    created: r.result.replicationCreated,
    image: { source, namespace: push.namespace, repository: push.repository, tag: r.image.tag, digest: r.image.digest },
    targets,
  };
}

/**
 * A push delivered again after its task failed, was canceled or timed out is a request to try again:
 * those tasks are re-opened (once, however many deliveries race) with a fresh attempt budget.
 * Succeeded and in-flight tasks stay duplicates.
 */
async function reopenFinished(rt: WebhookRuntime, d: Delivery, source: string, recorded: RecordResult): Promise<Set<string>> {
  const finished = recorded.tasks.filter((t) => !t.created && isRerunnable(t.state)).map((t) => t.taskId);
  if (!finished.length) return new Set();
  const reopened = await rt.deps.ledger.rerunIds(finished, { actor: `webhook:${source}`, reason: 'push delivered again', details: { requestId: d.requestId } });
  return new Set(reopened.map((t) => t.id));
}

/** Whether any rule copies this push anywhere: a push nothing replicates needs no digest lookup. */
function replicates(push: NormalizedPush, matchAs: { kind: string; name: string }, config: Deps['config']): boolean {
  return explainPush(pushEvent(push, matchAs), config).targets.length > 0;
}

/** The push as rules match it, seen as coming from `matchAs` (the source, or the one it mirrors). */
function pushEvent(push: NormalizedPush, matchAs: { kind: string; name: string }, digest?: string | undefined): PushEvent {
  return {
    sourceKind: matchAs.kind as PushEvent['sourceKind'],
    source: matchAs.name,
    namespace: push.namespace,
    repository: push.repository,
    tag: push.tag,
    digest,
    pushedAt: push.pushedAt,
  };
}

/** Why nothing matched, from the verdicts of the one matching pass. */
function noMatchReason(event: PushEvent, verdicts: RuleVerdict[]): string {
  const why = verdicts.map((v) => `${v.rule}: ${v.matched ? 'matched, but has no target this source can feed' : v.reason}`);
  return `no rule matches ${event.source}/${event.namespace}/${event.repository}${event.tag ? ':' + event.tag : ''}` + (why.length ? ` (${why.slice(0, 10).join('; ')})` : ' (no rules configured)');
}

const LEDGER_RESERVE_MS = 150;

/**
 * The digest of a pushed tag at the source, for a push that names none (Docker Hub never does): the
 * ledger keys pushes by content, so a resent push finds its replication instead of copying again.
 * Bounded to half the budget; a failure only means the push is keyed by its event id or time.
 */
async function resolveDigest(
  rt: WebhookRuntime,
  d: Delivery,
  source: { kind: string; name: string; region?: string | undefined; instanceId?: string | undefined },
  push: NormalizedPush,
): Promise<{ digest?: string; unavailable?: string }> {
  if (!push.tag) return {};
  const { deps } = rt;
  const image = { source: source.name, kind: source.kind, namespace: push.namespace, repository: push.repository, tag: push.tag, region: source.region, instanceId: source.instanceId };
  const deadline = d.receivedAt + deps.config.webhook.submitBudgetMs / 2;
  let unavailable: string | undefined;
  for (const p of providersFeedingFrom(source.kind)) {
    const cloud = rt.clouds.of(p.name);
    if (!cloud.resolveDigest) continue;
    try {
      const digest = await withinBudget(deadline, p.name, deps.clock, () => cloud.resolveDigest!(image, deps));
      if (digest) return { digest };
    } catch (err) {
      const info = errorInfo(err);
      deps.log.warn('webhook: digest not resolved at the source', { requestId: d.requestId, provider: p.name, error: info });
      // The cloud not knowing the tag is an answer; anything else (throttled, down, refused) is not.
      if (!(err instanceof CloudNotFoundError)) unavailable = info.code;
    }
  }
  return unavailable ? { unavailable } : {};
}

/**
 * Leases the tasks this delivery created and submits them all at once, each only if the account
 * limiter has room for its calls now: the answer never queues behind other work for the cloud's rate
 * (a task without room is handed to the sweep, due at once: `deferredToSweep`). None starts after the
 * deadline and calls still running at it are cut off (budget.ts), so the answer is never later than
 * the budget. Tasks not submitted stay pending for the sweep (which looks up a cut-off create before
 * making another).
 */
async function submitFresh(fresh: { task: string; entry: TargetEntry }[], d: Delivery, rt: WebhookRuntime, answerBy: number): Promise<void> {
  if (!fresh.length) return;
  const { deps } = rt;
  // Cloud calls end this much before the answer is due: what they left is written to the ledger in time.
  const deadline = answerBy - Math.min(LEDGER_RESERVE_MS, deps.config.webhook.submitBudgetMs / 5);
  const owner = `${deps.workerId}:${d.requestId}`;
  const leaseMs = Math.max(60_000, 4 * deps.config.webhook.submitBudgetMs);
  const leased = await deps.ledger.claimPending(
    fresh.map((f) => f.task),
    { owner, leaseMs },
  );
  const entries = new Map(fresh.map((f) => [f.task, f.entry]));
  const ctx: SubmitContext = {
    ledger: deps.ledger,
    clouds: rt.clouds,
    clock: deps.clock,
    owner,
    notifications: deps.config.notifications,
    log: deps.log,
    random: deps.random,
  };
  // Fresh copies begin together (one statement), so the creates leave together; a deletion or a
  // submission in doubt takes submitTask's own path.
  const batchable = leased.filter((t) => t.action !== 'delete' && !(t.submitStartedAt && !t.cloudRef));
  const begun = new Map(
    (
      await deps.ledger.beginSubmissions(
        batchable.map((t) => t.id),
        owner,
      )
    ).map((t) => [t.id, t]),
  );
  const submitOne = async (task: TaskRow): Promise<SubmitResult | { state: 'error'; error: ErrorInfo }> => {
    let result: SubmitResult | { state: 'error'; error: ErrorInfo };
    const started = begun.get(task.id);
    try {
      result = await withoutQueueing(() => withinBudget(deadline, task.provider, deps.clock, () => submitTask(task, ctx, started ? { started } : {})));
    } catch (err) {
      // A ledger outage mid-submission: the task keeps its recorded state; the sweep takes over.
      deps.log.error('webhook submission error', { taskId: task.id, error: errorInfo(err) });
      result = { state: 'error', error: errorInfo(err) };
    }
    // Every outcome but these ends the lease in the same statement that records it.
    if (result.state === 'skipped' || result.state === 'error') await deps.ledger.release(task.id, owner).catch(() => false);
    return result;
  };
  const { done, notStarted } = await runPool(leased, leased.length, deadline, () => deps.clock.now(), submitOne);
  await Promise.all(
    notStarted.map((t) =>
      (begun.has(t.id)
        ? deps.ledger.defer(t.id, { owner, until: deps.clock.now(), reason: 'left to the sweep: the answer was due', handOff: true, withdraw: true })
        : deps.ledger.release(t.id, owner)
      ).catch(() => false),
    ),
  );
  for (const [task, result] of done) {
    const entry = entries.get(task.id)!;
    switch (result.state) {
      case 'submitted':
        entry.state = 'submitted';
        entry.cloudRef = result.cloudRef;
        break;
      case 'succeeded':
        entry.state = 'succeeded';
        entry.cloudRef = result.cloudRef;
        break;
      case 'pending':
        entry.state = 'pending';
        if (result.deferredToSweep) entry.deferredToSweep = true;
        if (result.error) entry.error = publicError(result.error);
        break;
      case 'failed':
        entry.state = 'failed';
        entry.error = publicError(result.error);
        break;
      case 'skipped':
      case 'error': {
        const now = await deps.ledger.getTask(task.id).catch(() => null);
        entry.state = now?.task.state ?? 'pending';
        if (now?.task.cloudRef) entry.cloudRef = now.task.cloudRef;
        break;
      }
    }
  }
}

function publicError(e: ErrorInfo): NonNullable<TargetEntry['error']> {
  return { code: e.code, message: String(redact(e.message)), requestId: e.requestId };
}

function countStates(entries: TargetEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) out[e.state] = (out[e.state] ?? 0) + 1;
  return out;
}

/** A delivery line names at most this many images (`imagesTotal` counts them all), each clipped. */
export const DELIVERY_IMAGES_MAX = 20;
const DELIVERY_REASON_MAX = 1000;

/** The delivery's images in the task-state lines' form, `registry/namespace/repository[:tag][@digest]`. */
function deliveryImages(planned: readonly Planned[]): { images: string[]; imagesTotal?: number } {
  const images = planned.map(({ push, resolved, digest }) =>
    clip(imageName({ source: resolved.matchAs?.name ?? resolved.source.name, namespace: push.namespace, repository: push.repository, tag: push.tag ?? null, digest: digest ?? null })),
  );
  return images.length > DELIVERY_IMAGES_MAX ? { images: images.slice(0, DELIVERY_IMAGES_MAX), imagesTotal: images.length } : { images };
}

function logDelivery(rt: WebhookRuntime, d: Delivery, fields: Record<string, unknown>): void {
  rt.deps.log.info('webhook delivery', { kind: d.kind, requestId: d.requestId, ...fields, durationMs: rt.deps.clock.now() - d.receivedAt });
}
