import type { FerryConfig, Source } from '../config/index.ts';
import { providersFeedingFrom } from '../providers/registry.ts';
import type { NormalizedPush } from './normalize.ts';

/**
 * Which configured source announced a push. Payloads rarely name it: ACR triggers carry only
 * a region (the URL may add `instance=cri-…`), EventBridge names the instance, Harbor and
 * distribution name a host, Docker Hub nothing; `?source=<name>` always settles it.
 */

export interface ResolvedSource {
  /** The configured source the push came from (tokens are scoped against it). */
  source: Source;
  /**
   * The source rules see the push as coming from: the one a generic registry mirrors into
   * (`mirrorOf`), else the source itself. Null when no registered provider copies from it.
   */
  matchAs: Source | null;
}

/** A refusal: no configured source fits (`UnknownSource`), or the pushed image's name breaks the source cloud's naming rules (`InvalidName`). */
export type SourceResult = ({ ok: true } & ResolvedSource) | { ok: false; status: 422; code: 'UnknownSource' | 'InvalidName'; field: string; message: string };

export interface SourceHints {
  /** `?source=` */
  source?: string | null | undefined;
  /** `?instance=` */
  instance?: string | null | undefined;
}

function fail(field: string, message: string): SourceResult {
  return { ok: false, status: 422, code: 'UnknownSource', field, message };
}

const list = (sources: readonly Source[]) => sources.map((s) => (s.kind === 'acr' ? `${s.name} (${s.instanceId}, ${s.region})` : s.name)).join(', ');

type AcrFormat = 'acr-trigger' | 'eventbridge-acr';
const isAcrFormat = (f: NormalizedPush['format']): f is AcrFormat => f === 'acr-trigger' || f === 'eventbridge-acr';

/** Source kinds each sender format may announce without `?source=`. */
function defaultKinds(format: NormalizedPush['format']): Source['kind'][] {
  switch (format) {
    case 'acr-trigger':
    case 'eventbridge-acr':
      return ['acr'];
    case 'harbor':
    case 'harbor-cloudevents':
      return ['harbor'];
    case 'distribution':
      return ['distribution'];
    case 'dockerhub':
      return ['dockerhub'];
  }
}

export function resolveSource(push: NormalizedPush, hints: SourceHints, config: Pick<FerryConfig, 'sources'>): SourceResult {
  const sources = config.sources;
  let picked: Source;
  if (hints.source) {
    const s = sources.find((x) => x.name === hints.source);
    if (!s) return fail('source', `unknown source "${hints.source}" (configured: ${sources.map((x) => x.name).join(', ') || 'none'})`);
    // ACR payloads only come from ACR; SWR has no webhook format of its own, so any format may speak for it.
    const allowed = isAcrFormat(push.format) ? ['acr'] : [...defaultKinds(push.format), 'swr'];
    if (!allowed.includes(s.kind)) return fail('source', `source "${s.name}" is a ${s.kind} source; a ${push.format} event can only come from a ${allowed.join(' or ')} source`);
    picked = s;
  } else if (isAcrFormat(push.format)) {
    const r = resolveAcr(push, hints, sources);
    if (!r.ok) return r;
    picked = r.source;
  } else {
    const r = resolveRegistry(push, sources);
    if (!r.ok) return r;
    picked = r.source;
  }
  return finish(picked, push, sources);
}

function resolveAcr(push: NormalizedPush, hints: SourceHints, sources: readonly Source[]): SourceResult {
  const acr = sources.filter((s): s is Extract<Source, { kind: 'acr' }> => s.kind === 'acr');
  if (!acr.length) return fail('source', 'no ACR source is configured');
  const instance = hints.instance || push.instanceId;
  if (instance) {
    const field = hints.instance ? 'instance' : 'data.InstanceId';
    const s = acr.find((x) => x.instanceId === instance);
    if (!s) return fail(field, `no ACR source is configured for instance "${instance}" (configured: ${list(acr)})`);
    if (push.region && push.region !== s.region) return fail('repository.region', `"${push.region}" is not the region of instance ${instance} (${s.region})`);
    return { ok: true, source: s, matchAs: s };
  }
  if (!push.region) {
    if (acr.length === 1) return { ok: true, source: acr[0]!, matchAs: acr[0]! };
    return fail('repository.region', `the event names no region and several ACR sources are configured (${list(acr)}); add ?instance=cri-… to the trigger URL`);
  }
  const inRegion = acr.filter((s) => s.region === push.region);
  if (!inRegion.length) return fail('repository.region', `no ACR source is configured in region ${push.region} (configured: ${list(acr)})`);
  if (inRegion.length > 1) {
    return fail('instance', `ambiguous: ACR sources ${list(inRegion)} are all in region ${push.region}; add ?instance=cri-… to the trigger URL`);
  }
  return { ok: true, source: inRegion[0]!, matchAs: inRegion[0]! };
}

function hostMatches(configured: string, announced: string): boolean {
  const a = configured.toLowerCase();
  const b = announced.toLowerCase();
  return a === b || (!a.includes(':') && b.split(':')[0] === a);
}

/** A generic registry's host: configured, else its URL's (a destination-only source still has one). */
function hostOf(s: Source): string | undefined {
  if (s.kind === 'acr' || s.kind === 'swr') return undefined;
  if (s.host) return s.host;
  return s.url && URL.canParse(s.url) ? new URL(s.url).host : undefined;
}

function resolveRegistry(push: NormalizedPush, sources: readonly Source[]): SourceResult {
  const kinds = defaultKinds(push.format);
  const candidates = sources.filter((s) => kinds.includes(s.kind));
  const what = kinds.join('/');
  if (!candidates.length) return fail('source', `no ${what} source is configured; add ?source=<name> to the webhook URL`);
  if (push.host) {
    const byHost = candidates.filter((s) => {
      const host = hostOf(s);
      return host !== undefined && hostMatches(host, push.host!);
    });
    if (byHost.length === 1) return { ok: true, source: byHost[0]!, matchAs: null };
    if (byHost.length > 1) return fail('source', `ambiguous: ${what} sources ${list(byHost)} all have host ${push.host}; add ?source=<name> to the webhook URL`);
  }
  // No host in the event, or none configured with it: a source without a host may take it.
  const hostless = candidates.filter((s) => hostOf(s) === undefined);
  if (hostless.length === 1) return { ok: true, source: hostless[0]!, matchAs: null };
  const named = push.host ? ` for host ${push.host}` : '';
  if (!hostless.length) return fail('source', `no ${what} source is configured${named} (configured: ${list(candidates)}); add ?source=<name> to the webhook URL`);
  return fail('source', `ambiguous: ${what} sources ${list(hostless)} could have sent this event; add ?source=<name> to the webhook URL`);
}

const copyable = (s: Source | undefined): s is Source => s !== undefined && providersFeedingFrom(s.kind).length > 0;

/** A picked source's answer: the source rules see it as (its `mirrorOf`, or itself), the pushed names checked against it. */
export function finish(source: Source, push: Pick<NormalizedPush, 'namespace' | 'repository' | 'tag'>, sources: readonly Source[]): SourceResult {
  let matchAs: ResolvedSource['matchAs'] = null;
  if ('mirrorOf' in source && source.mirrorOf) {
    const m = sources.find((s) => s.name === source.mirrorOf);
    // The config's cross-checks guarantee this; a stale reference is treated as no mirror.
    if (copyable(m)) matchAs = m;
  } else if (copyable(source)) matchAs = source;
  if (matchAs) {
    // The pushed image must be nameable in the cloud it will be copied from.
    for (const p of providersFeedingFrom(matchAs.kind)) {
      const bad = p.checkSourceImage?.(push);
      if (bad) return { ok: false, status: 422, code: 'InvalidName', field: bad.field, message: `${bad.field} ${bad.message} (${matchAs.kind} naming rules)` };
    }
  }
  return { ok: true, source, matchAs };
}
