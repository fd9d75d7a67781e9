import type { FerryConfig, Policy, Rule } from '../config/index.ts';
import { providerNamed } from '../providers/registry.ts';
import type { RenderedTarget, RenderField, SourceImage } from '../providers/types.ts';
import type { PushEvent } from './event.ts';
import { compileGlob, compilePattern, type Pattern } from './glob.ts';
import { compileTemplate, templateVars, type Template } from './template.ts';

/**
 * Which destinations a push must be copied to: every rule that matches, every target
 * of it rendered and checked against the clouds' naming rules. A target that renders
 * to an invalid name is reported, never thrown, so one bad rule cannot block others.
 */

export type { RenderedTarget, SourceImage } from '../providers/types.ts';

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

/**
 * Whether the rule can select pushes of this source's repository (source, namespace and repository
 * patterns; tags aside).
 */
export function ruleCoversRepository(rule: Rule, source: string, namespace: string, repository: string): boolean {
  const c = compile(rule);
  return c.source.test(source) && c.namespace.test(namespace) && c.repository.test(repository);
}

/** The namespace a rule's pattern names literally, or null when it is a wildcard or a regex. */
export function literalNamespace(rule: Rule): string | null {
  return /^[A-Za-z0-9._-]+$/.test(rule.namespace) ? rule.namespace : null;
}

/** Whether the rule's source glob selects this source. */
export function ruleCoversSource(rule: Rule, source: string): boolean {
  return compile(rule).source.test(source);
}

/** What one rule made of a push: selected, or not and why. */
export type RuleVerdict = { rule: string; matched: true } | { rule: string; matched: false; reason: string };

export interface PushMatch {
  /** Every destination of the push, in rule order, duplicates (same targetKey) dropped after the first. */
  targets: TargetResult[];
  /** One verdict per configured rule, in config order: the explanation of a push nothing matched, without matching again. */
  rules: RuleVerdict[];
}

/** Every destination of this push, in rule order, duplicates (same targetKey) dropped after the first. */
export function matchPush(event: PushEvent, config: MatchConfig): TargetResult[] {
  return explainPush(event, config).targets;
}

/** matchPush, and each rule's verdict from the same pass (every pattern is tested once per push). */
export function explainPush(event: PushEvent, config: MatchConfig): PushMatch {
  const source = config.sources.find((s) => s.name === event.source);
  if (!source) return { targets: [], rules: config.rules.map((r) => ({ rule: r.name, matched: false, reason: `source "${event.source}" is not configured` })) };
  const from: SourceImage = {
    source: source.name,
    kind: source.kind,
    namespace: event.namespace,
    repository: event.repository,
    tag: event.tag || undefined,
    digest: event.digest || undefined,
    // Where the configured source lives, as far as it says (ACR: instance and region; SWR: region).
    ...('instanceId' in source ? { instanceId: source.instanceId } : {}),
    ...('region' in source ? { region: source.region } : {}),
  };
  const vars = templateVars({ ...event, tag: from.tag, digest: from.digest });
  const results: TargetResult[] = [];
  const verdicts: RuleVerdict[] = [];
  const seen = new Set<string>();
  for (const rule of config.rules) {
    const m = matchRule(rule, event);
    if (!m.matched) {
      verdicts.push({ rule: rule.name, matched: false, reason: m.reason });
      continue;
    }
    verdicts.push({ rule: rule.name, matched: true });
    const c = compile(rule);
    rule.targets.forEach((target, targetIndex) => {
      const base = { rule: rule.name, targetIndex };
      const provider = providerNamed(target.provider);
      // A target this kind of source cannot feed (the rule's source is a glob over mixed kinds).
      if (!provider?.sourceKinds.includes(source.kind)) return;
      const field: RenderField = (name, text, check) => {
        const r = template(c, text).render(vars);
        if (!r.ok) return { ok: false, field: name, reason: r.reason };
        const bad = check(r.value);
        return bad ? { ok: false, field: name, reason: `"${r.value}" (from "${text}") ${bad}` } : { ok: true, value: r.value };
      };
      const rendered = provider.render(target as Record<string, unknown>, from, field);
      if (!rendered.ok) {
        results.push({ ok: false, ...base, field: `targets[${targetIndex}]${rendered.field ? '.' + rendered.field : ''}`, reason: rendered.reason });
        return;
      }
      if (seen.has(rendered.targetKey)) return;
      seen.add(rendered.targetKey);
      results.push({ ok: true, ...base, targetKey: rendered.targetKey, target: rendered.target, from, policy: rule.policy });
    });
  }
  return { targets: results, rules: verdicts };
}
