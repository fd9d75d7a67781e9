import { z } from 'zod';

/**
 * Injected faults, matched by operation name (`acr:CreateRepoSyncTask`, glob `acr:*`, `*`)
 * and optionally by scope (instance id / region) and caller account. A rule fires on the
 * first `count` matching calls, or on each call with `probability`, or on every call when
 * neither is given. Effects: `latencyMs` (real milliseconds, composes with the others),
 * then at most one of `drop`, `throttle`, `serverError`, `error`, `malformed`.
 */
export const faultRuleSchema = z
  .object({
    op: z.string().min(1),
    scope: z.string().min(1).optional(),
    /** Alibaba account id (or Huawei user/AK) of the caller, when the service can tell. */
    account: z.string().min(1).optional(),
    count: z.number().int().positive().optional(),
    probability: z.number().min(0).max(1).optional(),
    latencyMs: z.number().int().nonnegative().optional(),
    /** Throttle with the service's own throttling response; `waitMs` goes into its rate-limit header. */
    throttle: z.union([z.boolean(), z.object({ waitMs: z.number().int().nonnegative().default(1000) })]).optional(),
    /** 503 ServiceUnavailable or 500 InternalError, in the service's error shape. */
    serverError: z.union([z.literal(true), z.literal(500), z.literal(503)]).optional(),
    /** Destroy the socket without answering. */
    drop: z.boolean().optional(),
    /** HTTP 200 with a body that is not the documented shape (truncated JSON). */
    malformed: z.boolean().optional(),
    /** Any error in the service's error shape, e.g. `{status: 403, code: 'NoPrivilege'}`. */
    error: z.object({ status: z.number().int().min(400).max(599), code: z.string().min(1), message: z.string().optional() }).optional(),
    /**
     * Apply drop / serverError / error / malformed AFTER the service handled the call: the
     * call takes effect (e.g. a sync task is created) but its answer is lost or replaced.
     */
    after: z.boolean().optional(),
  })
  .refine((r) => !(r.count !== undefined && r.probability !== undefined), { message: 'give either count or probability, not both' })
  .refine((r) => [r.drop, r.throttle, r.serverError, r.malformed, r.error].filter((x) => x !== undefined && x !== false).length <= 1, {
    message: 'at most one of drop, throttle, serverError, error, malformed per rule',
  })
  .refine((r) => r.latencyMs !== undefined || r.drop || r.throttle || r.serverError || r.malformed || r.error, {
    message: 'a rule needs an effect: latencyMs, drop, throttle, serverError, error or malformed',
  });

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema> & { id: string; fired: number; remaining: number | null };

/** What to do with one request, merged from every rule that fired. */
export interface FaultDecision {
  latencyMs: number;
  /** Whether the terminal action replaces the answer of a call that was handled (rule `after`). */
  after: boolean;
  action?:
    | { kind: 'drop' }
    | { kind: 'throttle'; waitMs: number }
    | { kind: 'serverError'; status: 500 | 503 }
    | { kind: 'malformed' }
    | { kind: 'error'; status: number; code: string; message?: string | undefined };
  ruleIds: string[];
}

export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(value);
}

export class FaultRegistry {
  private rules: FaultRule[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number) {}

  /** Validates and adds a rule; throws an Error naming the bad field. Returns the rule id. */
  add(input: FaultRuleInput): string {
    const parsed = faultRuleSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`fault rule: ${issue?.path.join('.') || '(rule)'}: ${issue?.message ?? 'invalid'}`);
    }
    const id = `fault-${this.nextId++}`;
    this.rules.push({ ...parsed.data, id, fired: 0, remaining: parsed.data.count ?? null });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Consumes the rules that fire for this call. */
  decide(op: string, scope: string | undefined, account: string | undefined): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, after: false, ruleIds: [] };
    for (const rule of this.rules) {
      if (!globMatch(rule.op, op)) continue;
      if (rule.scope !== undefined && rule.scope !== scope) continue;
      if (rule.account !== undefined && rule.account !== account) continue;
      if (rule.remaining !== null) {
        if (rule.remaining <= 0) continue;
      } else if (rule.probability !== undefined && !(this.random() < rule.probability)) continue;
      // A rule whose terminal effect cannot apply (one already chosen) is not consumed.
      const terminal = terminalOf(rule);
      if (terminal && decision.action) continue;
      if (rule.remaining !== null) rule.remaining--;
      rule.fired++;
      decision.ruleIds.push(rule.id);
      decision.latencyMs += rule.latencyMs ?? 0;
      if (terminal) {
        decision.action = terminal;
        decision.after = (rule.after ?? false) && terminal.kind !== 'throttle';
      }
    }
    return decision;
  }
}

function terminalOf(rule: FaultRule): FaultDecision['action'] {
  if (rule.drop) return { kind: 'drop' };
  if (rule.throttle) return { kind: 'throttle', waitMs: rule.throttle === true ? 1000 : rule.throttle.waitMs };
  if (rule.serverError) return { kind: 'serverError', status: rule.serverError === 500 ? 500 : 503 };
  if (rule.malformed) return { kind: 'malformed' };
  if (rule.error) return { kind: 'error', status: rule.error.status, code: rule.error.code, message: rule.error.message };
  return undefined;
}
