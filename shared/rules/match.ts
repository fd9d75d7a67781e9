import type { AcrTarget, FerryConfig, Policy, Rule, Source, SwrTarget } from '../config/index.ts';
import type { PushEvent } from './event.ts';
import { compileGlob, compilePattern, type Pattern } from './glob.ts';
import * as naming from './naming.ts';
import { compileTemplate, templateVars, type Template, type TemplateVars } from './template.ts';

/**
 * Which destinations a push must be copied to: every rule that matches, every target
 * of it rendered and checked against the clouds' naming rules. A target that renders
 * to an invalid name is reported, never thrown, so one bad rule cannot block others.
 */

/** The pushed image, as the task will name its source. */
export interface SourceImage {
  source: string;
  kind: Source['kind'];
  namespace: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
  /** ACR sources. */
  instanceId?: string | undefined;
  /** ACR and SWR sources. */
  region?: string | undefined;
}

export interface RenderedAcrTarget {
  provider: 'acr';
  instanceId: string;
  region: string;
  namespace: string;
  repo: string;
  tag: string;
  override: boolean;
  targetUserId?: string | undefined;
}

export interface RenderedSwrTarget {
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

export type RenderedTarget = RenderedAcrTarget | RenderedSwrTarget;

export interface MatchedTarget {
  ok: true;
  rule: string;
  targetIndex: number;
  /** Identifies the destination image uniquely; equal keys are the same copy. */
  targetKey: string;
  target: RenderedTarget;
  from: SourceImage;
  policy: Policy;
}

export interface TargetError {
  ok: false;
  rule: string;
  targetIndex: number;
  /** Relative to the rule, e.g. `targets[0].repo`. */
  field: string;
  reason: string;
}

export type TargetResult = MatchedTarget | TargetError;

export type MatchConfig = Pick<FerryConfig, 'sources' | 'rules'>;

interface CompiledRule {
  source: Pattern;
  namespace: Pattern;
  repository: Pattern;
  include: Pattern[];
  exclude: Pattern[];
  templates: Map<string, Template>;
}

const compiled = new WeakMap<Rule, CompiledRule>();

function compile(rule: Rule): CompiledRule {
  let c = compiled.get(rule);
  if (!c) {
    c = {
      source: compileGlob(rule.source),
      namespace: compilePattern(rule.namespace),
      repository: compilePattern(rule.repository),
      include: rule.tags.include.map(compilePattern),
      exclude: rule.tags.exclude.map(compilePattern),
      templates: new Map(),
    };
    compiled.set(rule, c);
  }
  return c;
}

function template(c: CompiledRule, source: string): Template {
  let t = c.templates.get(source);
  if (!t) c.templates.set(source, (t = compileTemplate(source)));
  return t;
}

/** Whether the rule selects this push, and if not, why (for logs). */
export function matchRule(rule: Rule, event: PushEvent): { matched: true } | { matched: false; reason: string } {
  const c = compile(rule);
  if (!c.source.test(event.source)) return { matched: false, reason: `source "${event.source}" does not match "${rule.source}"` };
  if (!c.namespace.test(event.namespace)) return { matched: false, reason: `namespace "${event.namespace}" does not match "${rule.namespace}"` };
  if (!c.repository.test(event.repository)) return { matched: false, reason: `repository "${event.repository}" does not match "${rule.repository}"` };
  if (event.tag === undefined || event.tag === '') {
    return rule.digestOnly ? { matched: true } : { matched: false, reason: 'push by digest (no tag) and the rule does not allow digestOnly' };
  }
  const tag = event.tag;
  if (c.include.length && !c.include.some((p) => p.test(tag))) return { matched: false, reason: `tag "${tag}" matches no include pattern` };
  const excluded = c.exclude.find((p) => p.test(tag));
  if (excluded) return { matched: false, reason: `tag "${tag}" is excluded by "${excluded.source}"` };
  return { matched: true };
}

/** Every destination of this push, in rule order, duplicates (same targetKey) dropped after the first. */
export function matchPush(event: PushEvent, config: MatchConfig): TargetResult[] {
  const source = config.sources.find((s) => s.name === event.source);
  if (!source) return [];
  const from: SourceImage = {
    source: source.name,
    kind: source.kind,
    namespace: event.namespace,
    repository: event.repository,
    tag: event.tag || undefined,
    digest: event.digest || undefined,
    ...(source.kind === 'acr' ? { instanceId: source.instanceId, region: source.region } : {}),
    ...(source.kind === 'swr' ? { region: source.region } : {}),
  };
  const vars = templateVars({ ...event, tag: from.tag, digest: from.digest });
  const results: TargetResult[] = [];
  const seen = new Set<string>();
  for (const rule of config.rules) {
    if (!matchRule(rule, event).matched) continue;
    const c = compile(rule);
    rule.targets.forEach((target, targetIndex) => {
      const base = { rule: rule.name, targetIndex };
      let rendered: { target: RenderedTarget; targetKey: string } | { field: string; reason: string } | null;
      if (target.provider === 'acr') rendered = source.kind === 'acr' ? renderAcr(c, target, vars, from) : null;
      else rendered = source.kind === 'swr' ? renderSwr(c, target, vars, from, source.region) : null;
      if (rendered === null) return; // a target this kind of source cannot feed (rule source is a glob over mixed kinds)
      if ('field' in rendered) {
        results.push({ ok: false, ...base, field: `targets[${targetIndex}]${rendered.field ? '.' + rendered.field : ''}`, reason: rendered.reason });
        return;
      }
      if (seen.has(rendered.targetKey)) return;
      seen.add(rendered.targetKey);
      results.push({ ok: true, ...base, targetKey: rendered.targetKey, target: rendered.target, from, policy: rule.policy });
    });
  }
  return results;
}

type Rendered = { target: RenderedTarget; targetKey: string } | { field: string; reason: string };

function renderField(c: CompiledRule, field: string, source: string, vars: TemplateVars, check: naming.NameCheck): { value: string } | { field: string; reason: string } {
  const r = template(c, source).render(vars);
  if (!r.ok) return { field, reason: r.reason };
  const bad = check(r.value);
  return bad ? { field, reason: `"${r.value}" (from "${source}") ${bad}` } : { value: r.value };
}

function renderAcr(c: CompiledRule, t: AcrTarget, vars: TemplateVars, from: SourceImage): Rendered {
  const namespace = renderField(c, 'namespace', t.namespace, vars, naming.acrNamespace);
  if ('reason' in namespace) return namespace;
  const repo = renderField(c, 'repo', t.repo, vars, naming.acrRepository);
  if ('reason' in repo) return repo;
  const tag = renderField(c, 'tag', t.tag, vars, naming.imageTag);
  if ('reason' in tag) return tag;
  if (t.instanceId === from.instanceId && namespace.value === from.namespace && repo.value === from.repository && tag.value === from.tag) {
    return { field: '', reason: 'renders to the pushed image itself' };
  }
  const target: RenderedAcrTarget = {
    provider: 'acr',
    instanceId: t.instanceId,
    region: t.region,
    namespace: namespace.value,
    repo: repo.value,
    tag: tag.value,
    override: t.override,
    ...(t.targetUserId ? { targetUserId: t.targetUserId } : {}),
  };
  return { target, targetKey: `acr:${t.instanceId}:${t.region}:${namespace.value}/${repo.value}:${tag.value}` };
}

function renderSwr(c: CompiledRule, t: SwrTarget, vars: TemplateVars, from: SourceImage, sourceRegion: string): Rendered {
  if (!from.tag) return { field: '', reason: 'SWR copies by tag and this push has no tag (it was pushed by digest)' };
  const remoteNamespace = renderField(c, 'remoteNamespace', t.remoteNamespace, vars, naming.swrNamespace);
  if ('reason' in remoteNamespace) return remoteNamespace;
  const region = t.region ?? sourceRegion;
  if (t.remoteRegion === region && remoteNamespace.value === from.namespace) return { field: '', reason: 'renders to the pushed image itself' };
  const target: RenderedSwrTarget = {
    provider: 'swr',
    region,
    namespace: from.namespace,
    repo: from.repository,
    tag: from.tag,
    remoteRegion: t.remoteRegion,
    remoteNamespace: remoteNamespace.value,
    override: t.override,
  };
  return { target, targetKey: `swr:${region}>${t.remoteRegion}:${remoteNamespace.value}/${from.repository}:${from.tag}` };
}
