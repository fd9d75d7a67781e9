import { z } from 'zod';

/**
 * Secrets appear in the config only as `${ENV_VAR}` references, resolved against the
 * environment at load time. Messages name the variable, never the value.
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

export interface RefContext {
  env: Env;
  secrets: SecretSink;
}

function resolve(ctx: RefContext, variable: string, issues: z.core.$ZodRawIssue[], input: string): string | typeof z.NEVER {
  const value = ctx.env[variable];
  if (value === undefined || value === '') {
    issues.push({ code: 'custom', message: `environment variable ${variable} is not set`, input });
    return z.NEVER;
  }
  return value;
}

/** A secret field: must be `${VAR}`; resolves to the variable's value and records it as a secret. */
export function secretRef(ctx: RefContext, exampleVar: string) {
  return z
    .string()
    .regex(REF, { error: `must be a reference like \${${exampleVar}}, not an inline secret` })
    .transform((ref, t) => {
      const value = resolve(ctx, REF.exec(ref)![1]!, t.issues, ref);
      if (typeof value === 'string') ctx.secrets.add(value);
      return value as string;
    });
}

/** A plain (non-secret) string that may also be given as `${VAR}`, e.g. an endpoint URL. */
export function plainOrRef(ctx: RefContext, inner: z.ZodType<string, string>) {
  return z
    .string()
    .transform((raw, t) => {
      const m = REF.exec(raw);
      return m ? (resolve(ctx, m[1]!, t.issues, raw) as string) : raw;
    })
    .pipe(inner);
}
