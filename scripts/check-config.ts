/**
 * Packaging's check of the operator config (scripts/package.mjs): the runtime's own schema and
 * start-up checks, against the deploying shell's environment, before anything is bundled.
 * `${kms:NAME}` references cannot be resolved here (the functions fetch them at cold start), so
 * each stands in as a placeholder secret: secret fields accept any non-empty value.
 */
import { validateConfig } from '../shared/config/load.ts';
import { assertDeployable } from '../shared/runtime/bootstrap.ts';

const KMS_REF = /^\$\{kms:[^}]+\}$/;

function withKmsPlaceholders(doc: unknown, env: Record<string, string | undefined>): { doc: unknown; env: Record<string, string | undefined> } {
  const placeholders: Record<string, string> = {};
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string' && KMS_REF.test(node)) {
      const name = `FERRY_PACKAGE_KMS_${Object.keys(placeholders).length}`;
      placeholders[name] = 'kms-placeholder';
      return `\${${name}}`;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  const out = walk(doc);
  return { doc: out, env: { ...env, ...placeholders } };
}

/** Every problem, as `path: message` lines (never a value); empty when the config would start. */
export function configProblems(doc: unknown, env: Record<string, string | undefined>): string[] {
  const prepared = withKmsPlaceholders(doc, env);
  const result = validateConfig(prepared.doc, prepared.env);
  if (!result.ok) return result.issues.map((i) => `${i.path}: ${i.message}`);
  try {
    assertDeployable(result.config, {});
    return [];
  } catch (err) {
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
}
