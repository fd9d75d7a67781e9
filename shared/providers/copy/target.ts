/** A copy rule target: the config schema and checks, rendering for one push, the ledger's stored form. */
import * as z from '../../zod.ts';
import * as naming from '../../rules/naming.ts';
import { providerNamed } from '../registry.ts';
import { storedTargetParser } from '../stored-target.ts';
import type { RenderField, Rendering, SchemaKit, SourceImage, TaskTarget } from '../types.ts';

export interface CopyTarget {
  provider: 'copy';
  /** The configured source (registry) the image is copied to: a name, never credentials. */
  registry: string;
  namespace: string;
  repository: string;
  tag: string;
  platforms?: string[] | undefined;
  referrers: boolean;
}

export type CopyTaskTarget = TaskTarget<CopyTarget>;

/** Registry kinds the copy provider reaches itself; a cloud's registry comes from its provider (`registryFor`). */
export const GENERIC_KINDS = ['harbor', 'distribution', 'dockerhub'] as const;

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export function copyTargetSchema(kit: SchemaKit) {
  return z.strictObject({
    provider: z.literal('copy'),
    registry: z.string().check(z.minLength(1, { error: 'must name a configured source' })),
    namespace: kit.template('{namespace}', naming.ociNamespace),
    repository: kit.template('{repository}', naming.ociRepository),
    tag: kit.template('{tag}', naming.imageTag),
    platforms: z.optional(z.array(z.string().check(z.regex(PLATFORM, { error: 'must be os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8' }))).check(z.minLength(1))),
    referrers: z._default(z.boolean(), false),
  });
}

type Obj = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Templates that render every push to its own name. */
const IDENTITY: Record<string, readonly (string | undefined)[]> = {
  namespace: [undefined, '{namespace}'],
  repository: [undefined, '{repository}', '{repo}'],
  tag: [undefined, '{tag}'],
};

/** Why Ferry could not reach this configured source's registry, or null. */
function registryProblem(source: Obj, clouds: Obj): string | null {
  const kind = str(source.kind);
  if (kind === 'dockerhub') return null;
  if ((GENERIC_KINDS as readonly string[]).includes(kind ?? '')) {
    return str(source.url) || str(source.host) ? null : 'it has neither url nor host, so its registry is unknown';
  }
  const native = providerNamed(kind ?? '');
  if (!native?.registryFor) return `Ferry cannot reach the registry of ${kind ?? 'this kind of'} source`;
  return native.checkRegistry?.(source, clouds) ?? null;
}

/** The copy's config problems for one source its rule matches (`sources[0]`), the first one found. */
export function checkCopyTarget(target: Obj, sources: readonly { name: string }[], config: { sources: readonly Obj[]; clouds: Obj }): { field: string; message: string } | null {
  const name = str(target.registry);
  if (!name) return null;
  const to = config.sources.find((s) => s.name === name);
  if (!to) {
    const known = config.sources.map((s) => str(s.name)).filter(Boolean);
    return { field: 'registry', message: `unknown source "${name}": a copy goes to a configured source (${known.length ? `configured: ${known.join(', ')}` : 'none are configured'})` };
  }
  const from = config.sources.find((s) => s.name === sources[0]?.name);
  if (from === to && Object.entries(IDENTITY).every(([field, same]) => same.includes(str(target[field])))) {
    return { field: 'registry', message: `copies every push of "${name}" onto itself: give another registry, or a namespace, repository or tag template` };
  }
  const toProblem = registryProblem(to, config.clouds);
  if (toProblem) return { field: 'registry', message: `cannot copy to "${name}": ${toProblem}` };
  const fromProblem = from ? registryProblem(from, config.clouds) : null;
  if (fromProblem) return { field: 'provider', message: `cannot copy from "${String(from!.name)}": ${fromProblem}` };
  return null;
}

type ConfiguredCopyTarget = Omit<CopyTarget, 'provider'>;

export function renderCopy(config: Record<string, unknown>, from: SourceImage, field: RenderField): Rendering<CopyTarget> {
  const t = config as ConfiguredCopyTarget;
  const namespace = field('namespace', t.namespace, naming.ociNamespace);
  if (!namespace.ok) return namespace;
  const repository = field('repository', t.repository, naming.ociRepository);
  if (!repository.ok) return repository;
  const tag = field('tag', t.tag, naming.imageTag);
  if (!tag.ok) return tag;
  if (t.registry === from.source && namespace.value === from.namespace && repository.value === from.repository && tag.value === from.tag) {
    return { ok: false, field: '', reason: 'renders to the pushed image itself' };
  }
  const target: CopyTarget = {
    provider: 'copy',
    registry: t.registry,
    namespace: namespace.value,
    repository: repository.value,
    tag: tag.value,
    ...(t.platforms ? { platforms: [...t.platforms] } : {}),
    referrers: t.referrers,
  };
  return { ok: true, target, targetKey: `copy:${t.registry}:${namespace.value}/${repository.value}:${tag.value}` };
}

const stored = z.object({
  from: z.looseObject({ source: z.string(), kind: z.string(), namespace: z.string(), repository: z.string(), tag: z.optional(z.string()), digest: z.optional(z.string()) }),
  to: z.looseObject({
    provider: z.literal('copy'),
    registry: z.string(),
    namespace: z.string(),
    repository: z.string(),
    tag: z.string(),
    platforms: z.optional(z.array(z.string())),
    referrers: z._default(z.boolean(), false),
  }),
  written: z.optional(z.object({ digest: z.string() })),
});

/** A ledger task's target JSON as copy tasks hold it; parsed once per row. */
export const parseCopyTarget = storedTargetParser<CopyTaskTarget>(stored);
