/**
 * Naming rules of the clouds Ferry writes to. Each check returns null when the value
 * is valid, else a sentence naming the rule it breaks (the caller adds the field).
 * Used before any cloud call, by the webhook, cancel and the local cloud alike.
 */
export type NameCheck = (value: string) => string | null;

const SEPARATORS_NOT_ADJACENT = /[._\-/]{2,}/;

function separatorRule(value: string): string | null {
  // "__" is allowed (at most two underscores), any other run of separators is not.
  const runs = value.match(/[._\-/]{2,}/g) ?? [];
  for (const run of runs) if (run !== '__') return `separators may not be adjacent ("${run}")`;
  return null;
}

/** Huawei SWR organization: 1–64, starts with a lowercase letter, ends with a letter or digit. */
export const swrNamespace: NameCheck = (v) => {
  if (v.length < 1 || v.length > 64) return 'must be 1 to 64 characters';
  if (!/^[a-z]/.test(v)) return 'must start with a lowercase letter';
  if (!/[a-z0-9]$/.test(v)) return 'must end with a lowercase letter or digit';
  if (!/^[a-z0-9._-]+$/.test(v)) return 'may contain only lowercase letters, digits, ".", "_" and "-"';
  return separatorRule(v);
};

/** Huawei SWR repository: 1–128, starts and ends with a letter or digit; `/` allowed. */
export const swrRepository: NameCheck = (v) => {
  if (v.length < 1 || v.length > 128) return 'must be 1 to 128 characters';
  if (!/^[a-z0-9]/.test(v) || !/[a-z0-9]$/.test(v)) return 'must start and end with a lowercase letter or digit';
  if (!/^[a-z0-9._/-]+$/.test(v)) return 'may contain only lowercase letters, digits, ".", "/", "_" and "-"';
  return separatorRule(v);
};

/** ACR Enterprise namespace: 2–120, lowercase letters, digits and single separators. */
export const acrNamespace: NameCheck = (v) => {
  if (v.length < 2 || v.length > 120) return 'must be 2 to 120 characters';
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(v)) return 'must be lowercase letters and digits, separated by single ".", "_" or "-"';
  return null;
};

/** ACR Enterprise repository: 2–128, may span several levels with `/`. */
export const acrRepository: NameCheck = (v) => {
  if (v.length < 2 || v.length > 128) return 'must be 2 to 128 characters';
  if (!/^[a-z0-9]+(?:(?:[._-]|__|\/)[a-z0-9]+)*$/.test(v)) return 'must be lowercase letters and digits, separated by single ".", "_", "-" or "/"';
  return null;
};

/** One component of an OCI repository path (the distribution spec's name grammar). */
const OCI_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const OCI_RULE = 'lowercase letters and digits, separated by ".", "_", "__" or "-"';

/** The first component of a repository path in any OCI registry (Ferry's namespace). */
export const ociNamespace: NameCheck = (v) => (OCI_COMPONENT.test(v) ? null : `must be ${OCI_RULE}`);

/** The rest of a repository path in any OCI registry: components separated by "/". */
export const ociRepository: NameCheck = (v) => {
  if (v.length < 1 || v.length > 255) return 'must be 1 to 255 characters';
  return v.split('/').every((c) => OCI_COMPONENT.test(c)) ? null : `must be "/"-separated components of ${OCI_RULE}`;
};

/** An image tag, as the OCI distribution spec defines it. */
export const imageTag: NameCheck = (v) => (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v) ? null : 'must be 1 to 128 of letters, digits, "_", "." and "-", not starting with "." or "-"');

export const digest: NameCheck = (v) => (/^sha256:[a-f0-9]{64}$/.test(v) ? null : 'must be "sha256:" followed by 64 lowercase hex digits');
/** An image digest as registries announce it (OCI): `sha256:` + 64 or `sha512:` + 128 lowercase hex digits. */
export const imageDigest: NameCheck = (v) => (/^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(v) ? null : 'must be "sha256:" followed by 64, or "sha512:" followed by 128, lowercase hex digits');

export const acrInstanceId: NameCheck = (v) => (/^cri-[a-z0-9]{4,32}$/.test(v) ? null : 'must look like "cri-" followed by 4 to 32 lowercase letters or digits');
export const acrRepoId: NameCheck = (v) => (/^crr-[a-z0-9]{4,32}$/.test(v) ? null : 'must look like "crr-" followed by lowercase letters or digits');
export const acrSyncTaskId: NameCheck = (v) => (/^rst-[a-z0-9]{4,32}$/.test(v) ? null : 'must look like "rst-" followed by 4 to 32 lowercase letters or digits');
export const ecsTaskId: NameCheck = (v) => (/^t-[a-z0-9]{4,32}$/.test(v) ? null : 'must look like "t-" followed by 4 to 32 lowercase letters or digits');
/** The copy provider's job reference, a copy task's `cloudRef`: `copy:<Ferry task id>:<attempt>`. */
export const COPY_JOB_REF = /^copy:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[1-9][0-9]{0,8}$/;
export const copyJobRef: NameCheck = (v) => (COPY_JOB_REF.test(v) ? null : 'must look like "copy:<Ferry task id>:<attempt>": "copy:", a lowercase UUID, ":" and an attempt number from 1');
export const accountId: NameCheck = (v) => (/^\d{4,20}$/.test(v) ? null : 'must be 4 to 20 digits');

export { SEPARATORS_NOT_ADJACENT };

/** The first of an image's names that breaks its rule, as `{field, message}`; null when all pass. */
export function checkImageNames(
  image: { namespace: string; repository: string; tag?: string | undefined },
  rules: { namespace: NameCheck; repository: NameCheck },
): { field: string; message: string } | null {
  const checks: [string, string | undefined, NameCheck][] = [
    ['namespace', image.namespace, rules.namespace],
    ['repository', image.repository, rules.repository],
    ['tag', image.tag, imageTag],
  ];
  for (const [field, value, check] of checks) {
    const reason = value === undefined ? null : check(value);
    if (reason) return { field, message: `"${value}" ${reason}` };
  }
  return null;
}
