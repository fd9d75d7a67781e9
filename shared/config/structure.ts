/**
 * `ferry config check --structure-only`: validates a config file's structure with no secret or
 * variable set (for CI, which holds none). Every `${VAR}` the environment does not set is filled with
 * a distinct stand-in for the check, and a problem found only in such a stand-in is dropped: a value
 * nobody gave cannot be judged. Everything else (unknown fields, types, rules, cross-checks, inline
 * secrets, `${kms:…}` syntax) is checked as a full check does. The variables filled in are returned,
 * so the caller can say what a full check (or the deployed function) will need.
 */
import { ConfigError, formatPath } from './errors.ts';
import { type ConfigDocument, type FerryConfig, type LoadOptions, readConfigDocument, validateConfig } from './load.ts';
import { REF } from './secrets.ts';

export interface StructureCheck {
  file: string | undefined;
  sources: number;
  rules: number;
  /** The `${VAR}` references the environment does not set, in document order, each once. */
  variables: string[];
  /** The `${kms:…}` secrets the config names (never read here). */
  kmsSecrets: NonNullable<FerryConfig['kms']>['refs'];
}

/** Throws ConfigError listing every structure problem. */
export function checkStructure(options: LoadOptions = {}): StructureCheck {
  const env = options.env ?? process.env;
  const { doc, file }: ConfigDocument = readConfigDocument(options);
  const unsetAt = new Set<string>();
  const variables: string[] = [];
  const walk = (v: unknown, path: PropertyKey[]) => {
    if (typeof v === 'string') {
      const m = REF.exec(v);
      if (m && (env[m[1]!] === undefined || env[m[1]!] === '')) {
        unsetAt.add(formatPath(path));
        if (!variables.includes(m[1]!)) variables.push(m[1]!);
      }
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...path, i]);
    } else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc, []);
  const filled = { ...env, ...Object.fromEntries(variables.map((name) => [name, `structure-only-${name}-stand-in`])) };
  const result = validateConfig(doc, filled);
  if (result.ok) return { file, sources: result.config.sources.length, rules: result.config.rules.length, variables, kmsSecrets: result.config.kms?.refs ?? [] };
  const issues = result.issues.filter((i) => !unsetAt.has(i.path));
  if (issues.length) throw new ConfigError(issues, file);
  // Only stand-ins were refused (a URL variable, say): the structure holds; count off the document.
  const d = (doc ?? {}) as { sources?: unknown; rules?: unknown };
  return { file, sources: Array.isArray(d.sources) ? d.sources.length : 0, rules: Array.isArray(d.rules) ? d.rules.length : 0, variables, kmsSecrets: [] };
}
