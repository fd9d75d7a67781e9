/**
 * `${kms:SECRET_NAME}`: a secret read at cold start from KMS Secrets Manager (GetSecretValue)
 * instead of the environment. The name follows KMS's rule for secret names (1 to 192 letters,
 * digits and `_ / + = . - @`), or is a secret's ARN (`acs:kms:<region>:<account>:secret/<name>`),
 * which GetSecretValue takes for a secret of another account.
 */

export const KMS_PREFIX = '${kms:';

const SECRET_NAME = /^[A-Za-z0-9_/+=.@-]{1,192}$/;
const SECRET_ARN = /^acs:kms:[a-z0-9-]+:\d+:secret\/([A-Za-z0-9_/+=.@-]{1,192})$/;

/** Whether `raw` is meant as a `${kms:…}` reference (well formed or not), so it is judged as one. */
export function looksLikeKmsRef(raw: string): boolean {
  return /\$\{\s*kms\s*:/i.test(raw);
}

/** The secret name of a well-formed `${kms:NAME}`, or what is wrong with it (naming the form, never a value). */
export function parseKmsRef(raw: string): { name: string } | { problem: string } {
  const m = /^\$\{kms:(.*)\}$/s.exec(raw);
  if (!m) {
    if (!raw.startsWith('${') || (raw.startsWith(KMS_PREFIX) && !raw.endsWith('}'))) {
      return { problem: 'must be exactly ${kms:SECRET_NAME}: one reference, closed by "}", nothing around it' };
    }
    if (/^\$\{kms:/i.test(raw)) return { problem: 'must be written ${kms:SECRET_NAME}, "kms" in lower case' };
    return { problem: 'must be written ${kms:SECRET_NAME}, without spaces' };
  }
  const name = m[1]!;
  if (name === '') return { problem: 'names no secret: write ${kms:SECRET_NAME}' };
  if (name.length > 192 && !name.startsWith('acs:')) return { problem: `secret name is ${name.length} characters long; KMS allows at most 192` };
  if (name.startsWith('acs:')) {
    return SECRET_ARN.test(name) ? { name } : { problem: `"${name}" is not a secret ARN like acs:kms:cn-hangzhou:123456789012:secret/ferry-db` };
  }
  if (!SECRET_NAME.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9_/+=.@-]/.test(c)))].map((c) => JSON.stringify(c)).join(', ');
    return { problem: `secret name "${name}" has characters KMS does not allow (${bad}); use letters, digits and _ / + = . - @` };
  }
  return { name };
}

/** A secret the config references, and every field that references it (for messages). */
export interface KmsRef {
  name: string;
  fields: string[];
}

/**
 * Where each secret is referenced: the document's strings that are exactly `${kms:NAME}`, plus
 * the DATABASE_URL variable when the store takes it from there.
 */
export function locateKmsRefs(doc: unknown, names: ReadonlySet<string>, databaseUrlFromEnv: string | undefined): KmsRef[] {
  const fields = new Map<string, string[]>([...names].map((n) => [n, []]));
  const visit = (node: unknown, path: string) => {
    if (typeof node === 'string') {
      const ref = looksLikeKmsRef(node) ? parseKmsRef(node) : undefined;
      if (ref && 'name' in ref) fields.get(ref.name)?.push(path || '(root)');
    } else if (Array.isArray(node)) {
      for (const [i, v] of node.entries()) visit(v, `${path}[${i}]`);
    } else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) visit(v, path ? `${path}.${k}` : k);
  };
  visit(doc, '');
  const fromEnv = databaseUrlFromEnv && looksLikeKmsRef(databaseUrlFromEnv) ? parseKmsRef(databaseUrlFromEnv) : undefined;
  if (fromEnv && 'name' in fromEnv) fields.get(fromEnv.name)?.push('DATABASE_URL');
  return [...fields].map(([name, at]) => ({ name, fields: at }));
}
