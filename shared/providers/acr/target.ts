/** An ACR rule target: the config schema, rendering for one push, and the ledger's stored form. */
import * as z from '../../zod.ts';
import * as naming from '../../rules/naming.ts';
import { storedTargetParser } from '../stored-target.ts';
import type { RenderField, Rendering, SchemaKit, SourceImage, TaskTarget } from '../types.ts';

export interface AcrTarget {
  provider: 'acr';
  instanceId: string;
  region: string;
  namespace: string;
  repo: string;
  tag: string;
  override: boolean;
  /** Cross-account replication: the Alibaba Cloud account (UID) owning the target instance. */
  targetUserId?: string | undefined;
}

/** An ACR task copies from an ACR instance: its source always names one. */
export type AcrTaskTarget = TaskTarget<AcrTarget> & { from: SourceImage & { instanceId: string; region: string } };

export function acrTargetSchema(kit: SchemaKit) {
  return z.strictObject({
    provider: z.literal('acr'),
    instanceId: kit.checked(naming.acrInstanceId),
    region: kit.alibabaRegion,
    namespace: kit.template('{namespace}', naming.acrNamespace),
    repo: kit.template('{repo}', naming.acrRepository),
    tag: kit.template('{tag}', naming.imageTag),
    override: z._default(z.boolean(), false),
    /** Cross-account replication: the Alibaba Cloud account (UID) owning the target instance. */
    targetUserId: z.optional(kit.checked(naming.accountId)),
  });
}

type ConfiguredAcrTarget = { instanceId: string; region: string; namespace: string; repo: string; tag: string; override: boolean; targetUserId?: string | undefined };

export function renderAcr(config: Record<string, unknown>, from: SourceImage, field: RenderField): Rendering<AcrTarget> {
  const t = config as ConfiguredAcrTarget;
  const namespace = field('namespace', t.namespace, naming.acrNamespace);
  if (!namespace.ok) return namespace;
  const repo = field('repo', t.repo, naming.acrRepository);
  if (!repo.ok) return repo;
  const tag = field('tag', t.tag, naming.imageTag);
  if (!tag.ok) return tag;
  if (t.instanceId === from.instanceId && namespace.value === from.namespace && repo.value === from.repository && tag.value === from.tag) {
    return { ok: false, field: '', reason: 'renders to the pushed image itself' };
  }
  const target: AcrTarget = {
    provider: 'acr',
    instanceId: t.instanceId,
    region: t.region,
    namespace: namespace.value,
    repo: repo.value,
    tag: tag.value,
    override: t.override,
    ...(t.targetUserId ? { targetUserId: t.targetUserId } : {}),
  };
  return { ok: true, target, targetKey: `acr:${t.instanceId}:${t.region}:${namespace.value}/${repo.value}:${tag.value}` };
}

const stored = z.object({
  from: z.looseObject({
    source: z.string(),
    kind: z.string(),
    namespace: z.string(),
    repository: z.string(),
    tag: z.optional(z.string()),
    digest: z.optional(z.string()),
    instanceId: z.string(),
    region: z.string(),
  }),
  to: z.looseObject({
    provider: z.literal('acr'),
    instanceId: z.string(),
    region: z.string(),
    namespace: z.string(),
    repo: z.string(),
    tag: z.string(),
    override: z._default(z.boolean(), false),
    targetUserId: z.optional(z.string()),
  }),
});

/** A ledger task's target JSON as ACR tasks hold it; parsed once per row. */
export const parseAcrTarget = storedTargetParser<AcrTaskTarget>(stored);

export function acrTargetOf(task: { target: unknown }): AcrTaskTarget {
  return parseAcrTarget(task.target);
}
