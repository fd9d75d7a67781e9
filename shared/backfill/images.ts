/**
 * One repository's tags, a chunk at a time: each tag the rule matches is rendered to its targets;
 * targets the ledger already has a task for, or that already hold the tag at the source's digest, are
 * skipped; the rest are recorded exactly as a push would be (one replication per image, the same
 * idempotency keys), so a walk never duplicates a task the webhook made, nor one of its own.
 */
import type { Rule, Source } from '../config/index.ts';
import type { AccountLimiter } from '../clients/transport.ts';
import { idempotencyKey, LedgerInputError } from '../ledger/index.ts';
import { providersFeedingFrom } from '../providers/registry.ts';
import type { SourceRepository, SourceTag } from '../providers/types.ts';
import type { Deps } from '../replicate/deps.ts';
import { errorInfo } from '../replicate/submit.ts';
import { taskSpecOf } from '../replicate/target.ts';
import type { PushEvent } from '../rules/event.ts';
import { explainPush, type MatchedTarget } from '../rules/match.ts';
import { refuse, type WalkCounts } from './counts.ts';

export type WalkDeps = Pick<Deps, 'config' | 'ledger' | 'clouds' | 'clock' | 'log'>;

export interface WalkEnv {
  deps: WalkDeps;
  rule: Rule;
  source: Source;
  /** Create nothing: count what would be created. */
  dryRun: boolean;
  /** Recorded in the replication's details: who created it. */
  origin: { by: 'backfill' | 'audit'; runId: string };
  /** Only tags pushed at or after this (epoch ms), where the listing says when. */
  since?: number | undefined;
  /** Caps the walk's calls to this source's registry (the transport's account limiter applies beneath). */
  limiter: AccountLimiter;
}

/** Target checks of one chunk in flight at once. */
const CHECKS_AT_ONCE = 4;

interface Image {
  tag: SourceTag;
  digest: string | null;
  name: string;
  matched: { m: MatchedTarget; key: string }[];
}

export async function walkTags(env: WalkEnv, repo: SourceRepository, tags: readonly SourceTag[], counts: WalkCounts): Promise<void> {
  const images: Image[] = [];
  for (const tag of tags) {
    const image = await matchImage(env, repo, tag, counts);
    if (image) images.push(image);
  }
  const states = await env.deps.ledger.walks.taskStates(images.flatMap((i) => i.matched.map((t) => t.key)));
  const toCheck: { image: Image; m: MatchedTarget; key: string }[] = [];
  for (const image of images) {
    for (const t of image.matched) {
      if (states.has(t.key)) counts.inLedger++;
      else toCheck.push({ image, ...t });
    }
  }
  const missing = new Set<string>();
  await pool(toCheck, CHECKS_AT_ONCE, async ({ image, m, key }) => {
    if ((await holds(env, image, m, counts)) !== true) missing.add(key);
  });
  for (const image of images) {
    const specs = image.matched.filter((t) => missing.has(t.key)).map((t) => t.m);
    if (specs.length) await record(env, repo, image, specs, counts);
  }
}

/** The tag as a push: its digest, the rule's targets rendered and keyed; null when the rule does not take it. */
async function matchImage(env: WalkEnv, repo: SourceRepository, tag: SourceTag, counts: WalkCounts): Promise<Image | null> {
  const { source, rule, deps } = env;
  if (env.since !== undefined && tag.pushedAt !== undefined && tag.pushedAt < env.since) return null;
  const name = `${source.name}/${repo.namespace}/${repo.repository}:${tag.tag}`;
  const event: PushEvent = {
    sourceKind: source.kind as PushEvent['sourceKind'],
    source: source.name,
    namespace: repo.namespace,
    repository: repo.repository,
    tag: tag.tag,
    pushedAt: new Date(tag.pushedAt ?? deps.clock.now()),
  };
  const probe = explainPush(event, { sources: deps.config.sources, rules: [rule] });
  if (!probe.targets.length) return null;
  counts.found++;
  const digest = tag.digest ?? (await digestAt(env, repo, tag.tag));
  if (!digest && tag.pushedAt === undefined) {
    refuse(counts, 'DigestUnknown', { image: name, rule: rule.name, reason: 'the source listed no digest for the tag and none could be read: the image cannot be keyed' });
    return null;
  }
  const { targets } = digest ? explainPush({ ...event, digest }, { sources: deps.config.sources, rules: [rule] }) : probe;
  const matched: Image['matched'] = [];
  for (const t of targets) {
    if (!t.ok) {
      refuse(counts, 'InvalidTargetName', { image: name, rule: rule.name, field: `rules.${rule.name}.${t.field}`, reason: t.reason });
      continue;
    }
    counts.targets++;
    try {
      const key = idempotencyKey(
        { sourceKind: source.kind, source: source.name, namespace: repo.namespace, repository: repo.repository, tag: tag.tag, digest, pushedAt: tag.pushedAt ?? null },
        t.targetKey,
      );
      matched.push({ m: t, key });
    } catch (err) {
      if (!(err instanceof LedgerInputError)) throw err;
      refuse(counts, 'InvalidName', { image: name, rule: rule.name, field: err.field, reason: err.rule });
    }
  }
  return { tag, digest, name, matched };
}

/** The digest of a tag the listing gave none for, read at the source like a push naming none. */
async function digestAt(env: WalkEnv, repo: SourceRepository, tag: string): Promise<string | null> {
  const { source, deps } = env;
  const image = {
    source: source.name,
    kind: source.kind,
    namespace: repo.namespace,
    repository: repo.repository,
    tag,
    ...('region' in source ? { region: source.region } : {}),
    ...('instanceId' in source ? { instanceId: source.instanceId } : {}),
  };
  for (const p of providersFeedingFrom(source.kind)) {
    const cloud = deps.clouds.of(p.name);
    if (!cloud.resolveDigest) continue;
    try {
      const digest = await env.limiter.run(() => cloud.resolveDigest!(image, deps));
      if (digest) return digest;
    } catch (err) {
      deps.log.warn('walk: digest not read at the source', { image: `${repo.namespace}/${repo.repository}:${tag}`, provider: p.name, error: errorInfo(err) });
    }
  }
  return null;
}

/** Whether the target holds the image now: true, false, or null when it could not be told (counted; the task is created). */
async function holds(env: WalkEnv, image: Image, m: MatchedTarget, counts: WalkCounts): Promise<boolean | null> {
  const cloud = env.deps.clouds.of(m.target.provider);
  if (!cloud.targetDigest || !image.digest) return false;
  try {
    const at = await env.limiter.run(() => cloud.targetDigest!({ from: m.from, to: m.target }, env.deps));
    if (at === image.digest) {
      counts.alreadyThere++;
      return true;
    }
    return false;
  } catch (err) {
    counts.unchecked++;
    env.deps.log.warn('walk: target not checked', { image: image.name, target: m.targetKey, error: errorInfo(err) });
    return null;
  }
}

async function record(env: WalkEnv, repo: SourceRepository, image: Image, specs: MatchedTarget[], counts: WalkCounts): Promise<void> {
  if (env.dryRun) {
    counts.created += specs.length;
    return;
  }
  const { source, deps } = env;
  const now = deps.clock.now();
  const recorded = await deps.ledger.recordReplication(
    {
      sourceKind: source.kind,
      source: source.name,
      region: 'region' in source ? source.region : undefined,
      namespace: repo.namespace,
      repository: repo.repository,
      tag: image.tag.tag,
      digest: image.digest,
      pushedAt: image.tag.pushedAt ?? null,
      receivedAt: now,
      rules: [env.rule.name],
      details: { origin: env.origin.by, runId: env.origin.runId },
    },
    specs.map((m) => taskSpecOf(m, now)),
  );
  for (const t of recorded.tasks) {
    if (t.created) counts.created++;
    else counts.inLedger++;
  }
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
    }),
  );
}
