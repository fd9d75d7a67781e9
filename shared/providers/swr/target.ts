/** An SWR rule target: the config schema, rendering for one push, and the ledger's stored form. */
import * as z from '../../zod.ts';
import * as naming from '../../rules/naming.ts';
import { storedTargetParser } from '../stored-target.ts';
import type { RenderField, Rendering, SchemaKit, SourceImage, TaskTarget } from '../types.ts';

export interface SwrTarget {
  provider: 'swr';
  /** Source region (where sync_images is called). */
  region: string;
  /** Source organization and repository (the path of the call). */
  namespace: string;
  repo: string;
  tag: string;
  remoteRegion: string;
  remoteNamespace: string;
  override: boolean;
}

/** An SWR task copies from an SWR organization: its source always names a region. */
export type SwrTaskTarget = TaskTarget<SwrTarget> & { from: SourceImage & { region: string } };

export function swrTargetSchema(kit: SchemaKit) {
  return z.strictObject({
    provider: z.literal('swr'),
    /** The source's SWR region; defaults to it. */
    region: z.optional(kit.huaweiRegion),
    remoteRegion: kit.huaweiRegion,
    remoteNamespace: kit.template('{namespace}', naming.swrNamespace),
    override: z._default(z.boolean(), false),
  });
}

/** sync_images is called in the source's region: a target naming another region cannot be fed by that source. */
export function checkSwrTarget(target: Record<string, unknown>, sources: readonly { name: string; region?: string | undefined }[]): { field: string; message: string } | null {
  const region = typeof target.region === 'string' ? target.region : undefined;
  if (region === undefined) return null;
  const other = sources.find((s) => s.region !== undefined && s.region !== region);
  return other ? { field: 'region', message: `source "${other.name}" is in ${other.region}, not ${region}` } : null;
}

type ConfiguredSwrTarget = { region?: string | undefined; remoteRegion: string; remoteNamespace: string; override: boolean };

export function renderSwr(config: Record<string, unknown>, from: SourceImage, field: RenderField): Rendering<SwrTarget> {
  const t = config as ConfiguredSwrTarget;
  if (!from.tag) return { ok: false, field: '', reason: 'SWR copies by tag and this push has no tag (it was pushed by digest)' };
  const remoteNamespace = field('remoteNamespace', t.remoteNamespace, naming.swrNamespace);
  if (!remoteNamespace.ok) return remoteNamespace;
  const region = t.region ?? from.region ?? '';
  if (t.remoteRegion === region && remoteNamespace.value === from.namespace) return { ok: false, field: '', reason: 'renders to the pushed image itself' };
  const target: SwrTarget = {
    provider: 'swr',
    region,
    namespace: from.namespace,
    repo: from.repository,
    tag: from.tag,
    remoteRegion: t.remoteRegion,
    remoteNamespace: remoteNamespace.value,
    override: t.override,
  };
  return { ok: true, target, targetKey: `swr:${region}>${t.remoteRegion}:${remoteNamespace.value}/${from.repository}:${from.tag}` };
}

const stored = z.object({
  from: z.looseObject({ source: z.string(), kind: z.string(), namespace: z.string(), repository: z.string(), tag: z.optional(z.string()), digest: z.optional(z.string()), region: z.string() }),
  to: z.looseObject({
    provider: z.literal('swr'),
    region: z.string(),
    namespace: z.string(),
    repo: z.string(),
    tag: z.string(),
    remoteRegion: z.string(),
    remoteNamespace: z.string(),
    override: z._default(z.boolean(), false),
  }),
});

/** A ledger task's target JSON as SWR tasks hold it; parsed once per row. */
export const parseSwrTarget = storedTargetParser<SwrTaskTarget>(stored);

export function swrTargetOf(task: { target: unknown }): SwrTaskTarget {
  return parseSwrTarget(task.target);
}
