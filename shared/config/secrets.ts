import { randomUUID } from 'node:crypto';
import * as z from '../zod.ts';
import { looksLikeKmsRef, parseKmsRef } from './kms-refs.ts';

/**
 * Secrets appear in the config only as references: `${ENV_VAR}`, resolved against the environment
 * at load time, or `${kms:SECRET_NAME}`, resolved at cold start from KMS (kms-refs.ts,
 * resolve.ts). Messages name the variable or the secret, never the value.
 */
export type Env = Record<string, string | undefined>;

export const REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Collects every resolved secret of one parse so the logger can mask them. */
export class SecretSink {
  readonly values: string[] = [];
  add(value: string): void {
    if (!this.values.includes(value)) this.values.push(value);
  }
}

/**
 * Stands in for a KMS secret until it is resolved. Random per process, so a config used before
 * resolution (makeDeps refuses one) holds no value anyone could present as a token.
 */
export const UNRESOLVED = `kms-unresolved-${randomUUID()}`;

/** The `${kms:…}` secrets of one parse: their values when resolved, else the names still to fetch. */
export class KmsSecrets {
  readonly names = new Set<string>();
  constructor(readonly values?: ReadonlyMap<string, string>) {}
}

export interface RefContext {
  env: Env;
  secrets: SecretSink;
  kms: KmsSecrets;
}

function resolve(ctx: RefContext, variable: string, issues: z.core.$ZodRawIssue[], input: string): string | typeof z.NEVER {
  const value = ctx.env[variable];
  if (value === undefined || value === '') {
    issues.push({ code: 'custom', message: `environment variable ${variable} is not set`, input });
    return z.NEVER;
  }
  return value;
}

/** A `${kms:NAME}`'s value (recorded as a secret), or UNRESOLVED before resolution. */
export function kmsValue(ctx: RefContext, raw: string, issues: z.core.$ZodRawIssue[], source?: string): string | typeof z.NEVER {
  const ref = parseKmsRef(raw);
  if ('problem' in ref) {
    issues.push({ code: 'custom', message: source ? `${source} ${ref.problem}` : ref.problem, input: raw });
    return z.NEVER;
  }
  ctx.kms.names.add(ref.name);
  if (!ctx.kms.values) return UNRESOLVED;
  const value = ctx.kms.values.get(ref.name);
  if (value === undefined) {
    issues.push({ code: 'custom', message: `KMS secret "${ref.name}" was not resolved`, input: raw });
    return z.NEVER;
  }
  ctx.secrets.add(value);
  return value;
}

/** A secret field: `${VAR}` or `${kms:NAME}`; resolves to the value and records it as a secret. */
export function secretRef(ctx: RefContext, exampleVar: string) {
  return z.pipe(
    z.string().check(z.refine((raw) => REF.test(raw) || looksLikeKmsRef(raw), { error: `must be a reference like \${${exampleVar}} or \${kms:SECRET_NAME}, not an inline secret` })),
    z.transform((ref, t) => {
      if (looksLikeKmsRef(ref)) return kmsValue(ctx, ref, t.issues) as string;
      const value = resolve(ctx, REF.exec(ref)![1]!, t.issues, ref);
      if (typeof value === 'string') ctx.secrets.add(value);
      return value as string;
    }),
  );
}

/** A plain (non-secret) string that may also be given as `${VAR}`, e.g. an endpoint URL. */
export function plainOrRef(ctx: RefContext, inner: z.ZodMiniType<string, string>) {
  return z.pipe(
    z.pipe(
      z.string(),
      z.transform((raw, t) => {
        if (looksLikeKmsRef(raw)) {
          // Checked (and so resolved) with the rest of the file, before any KMS call can be made.
          t.issues.push({ code: 'custom', message: 'is not a secret: ${kms:…} references are taken by secret fields only; give the value or ${VAR}', input: raw });
          return z.NEVER;
        }
        const m = REF.exec(raw);
        return m ? (resolve(ctx, m[1]!, t.issues, raw) as string) : raw;
      }),
    ),
    inner,
  );
}
