/**
 * Which configured sources a rule's walk lists (those its `source` glob names and some provider can
 * list), and whether a listed repository is one the rule covers: checked before its tags are listed,
 * so repositories the rule never copies cost no call.
 */
import type { FerryConfig, Rule, Source } from '../config/index.ts';
import { inventoryFor } from '../providers/registry.ts';
import { compileGlob, compilePattern, type Pattern } from '../rules/glob.ts';

const compiled = new WeakMap<Rule, { source: Pattern; namespace: Pattern; repository: Pattern }>();

function patterns(rule: Rule) {
  let c = compiled.get(rule);
  if (!c) compiled.set(rule, (c = { source: compileGlob(rule.source), namespace: compilePattern(rule.namespace), repository: compilePattern(rule.repository) }));
  return c;
}

/** The sources a rule copies from that an inventory can list; the others, with why. */
export function walkableSources(rule: Rule, config: Pick<FerryConfig, 'sources'>): { sources: Source[]; skipped: { source: string; reason: string }[] } {
  const sources: Source[] = [];
  const skipped: { source: string; reason: string }[] = [];
  for (const s of config.sources) {
    if (!patterns(rule).source.test(s.name)) continue;
    if (inventoryFor(s.kind)) sources.push(s);
    else skipped.push({ source: s.name, reason: `no provider lists what a ${s.kind} source holds` });
  }
  return { sources, skipped };
}

export function coversRepository(rule: Rule, repo: { namespace: string; repository: string }): boolean {
  const c = patterns(rule);
  return c.namespace.test(repo.namespace) && c.repository.test(repo.repository);
}
