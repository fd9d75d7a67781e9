/**
 * The repositories rules name literally for a source: what an inventory lists where a registry
 * refuses its catalog (Docker Hub). A namespace or repository with a wildcard or a regex names no
 * repository Ferry could list without a catalog.
 */
import type { Rule } from '../config/index.ts';
import type { SourceRepository } from '../providers/types.ts';
import { compileGlob, hasWildcard, isRegexPattern } from './glob.ts';

/** A glob without wildcards, unescaped; null when it is a pattern. */
function literal(pattern: string): string | null {
  if (isRegexPattern(pattern) || hasWildcard(pattern)) return null;
  return pattern.replace(/\\(.)/g, '$1');
}

export function literalRepositories(rules: readonly Pick<Rule, 'source' | 'namespace' | 'repository'>[], source: string): SourceRepository[] {
  const seen = new Map<string, SourceRepository>();
  for (const rule of rules) {
    if (!compileGlob(rule.source).test(source)) continue;
    const namespace = literal(rule.namespace);
    const repository = literal(rule.repository);
    if (namespace === null || repository === null) continue;
    seen.set(`${namespace}/${repository}`, { namespace, repository });
  }
  return [...seen.values()].sort((a, b) => `${a.namespace}/${a.repository}`.localeCompare(`${b.namespace}/${b.repository}`));
}
