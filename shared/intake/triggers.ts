/**
 * `ferry triggers` / `GET /triggers`, `POST /triggers/apply`: for every source whose registry
 * announces pushes per repository (a provider's `triggerKinds`), the repositories some rule matches
 * and whether each has a trigger calling this Ferry; with `apply`, the missing ones are created.
 * Idempotent: a second run finds them present. The token stays in the trigger, never in the answer.
 */
import type { FerryConfig } from '../config/index.ts';
import type { Connections } from '../providers/connections.ts';
import { providers } from '../providers/registry.ts';
import type { CloudContext, TriggerState } from '../providers/types.ts';
import { literalNamespace, ruleCoversRepository, ruleCoversSource } from '../rules/match.ts';

export interface SourceTriggers {
  source: string;
  kind: string;
  /** Why this source was not checked (no webhook token may push for it, or the cloud refused the listing). */
  skipped?: string;
  repositories: TriggerState[];
}

export interface TriggersReport {
  applied: boolean;
  sources: SourceTriggers[];
  counts: Record<TriggerState['state'], number>;
}

/** Raised when the config lacks what triggers need; `field` is the config path. */
export class IntakeConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type TriggerConfig = Pick<FerryConfig, 'sources' | 'rules' | 'auth' | 'webhook'>;

export async function checkTriggers(config: TriggerConfig, clouds: Connections, ctx: CloudContext, opts: { apply: boolean }): Promise<TriggersReport> {
  const publicUrl = config.webhook.publicUrl;
  if (!publicUrl) throw new IntakeConfigError('webhook.publicUrl', 'webhook.publicUrl is not configured: Ferry needs its public URL to register triggers that call it');
  const sources: SourceTriggers[] = [];
  for (const p of providers()) {
    for (const source of config.sources) {
      if (!p.triggerKinds?.includes(source.kind)) continue;
      const rules = config.rules.filter((r) => ruleCoversSource(r, source.name));
      if (!rules.length) continue;
      const entry: SourceTriggers = { source: source.name, kind: source.kind, repositories: [] };
      sources.push(entry);
      const token = config.auth.webhookTokens.find((t) => !t.sources || t.sources.includes(source.name))?.token;
      const triggers = clouds.of(p.name).triggers;
      if (!token) {
        entry.skipped = `no webhook token in auth.webhookTokens may push for source "${source.name}"`;
        continue;
      }
      if (!triggers) continue;
      const literal = rules.map(literalNamespace);
      const namespaces = literal.every((n): n is string => n !== null) ? [...new Set(literal)] : null;
      try {
        entry.repositories = await triggers.check(
          source as unknown as Record<string, unknown> & { name: string; kind: string },
          { publicUrl, token, namespaces, apply: opts.apply, wanted: (repo) => rules.some((r) => ruleCoversRepository(r, source.name, repo.namespace, repo.repository)) },
          ctx,
        );
      } catch (err) {
        entry.skipped = `the repositories could not be listed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
  const counts: TriggersReport['counts'] = { present: 0, missing: 0, created: 0, token_differs: 0, name_taken: 0, failed: 0 };
  for (const s of sources) for (const r of s.repositories) counts[r.state]++;
  return { applied: opts.apply, sources, counts };
}
