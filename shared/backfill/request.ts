/**
 * A backfill's arguments, checked against the config: which rules (default all), one repository
 * (`namespace/repository`), tags pushed since when (an ISO time, or `2h`/`7d` ago). Every problem
 * names its field. The run id is the arguments' hash: the same backfill asked again resumes.
 */
import { createHash } from 'node:crypto';
import type { FerryConfig, Rule } from '../config/index.ts';
import { parseDuration } from '../config/schema.ts';
import type { SourceRepository } from '../providers/types.ts';

export interface BackfillRequest {
  rule?: string | undefined;
  repository?: string | undefined;
  since?: string | undefined;
  dryRun?: boolean | undefined;
}

export interface BackfillPlan {
  runId: string;
  rules: Rule[];
  repository?: SourceRepository | undefined;
  since?: number | undefined;
  dryRun: boolean;
}

export type Checked = { ok: true; plan: BackfillPlan } | { ok: false; field: 'rule' | 'repository' | 'since'; message: string };

export function checkBackfill(req: BackfillRequest, config: Pick<FerryConfig, 'rules'>, now: number): Checked {
  let rules = config.rules;
  if (req.rule !== undefined) {
    const rule = config.rules.find((r) => r.name === req.rule);
    if (!rule) return { ok: false, field: 'rule', message: `no rule "${req.rule}" is configured (rules: ${config.rules.map((r) => r.name).join(', ') || 'none'})` };
    rules = [rule];
  }
  if (!rules.length) return { ok: false, field: 'rule', message: 'the config has no rules to backfill' };
  let repository: SourceRepository | undefined;
  if (req.repository !== undefined) {
    const slash = req.repository.indexOf('/');
    if (slash <= 0 || slash === req.repository.length - 1 || /\s/.test(req.repository)) {
      return { ok: false, field: 'repository', message: `"${req.repository}" is not namespace/repository` };
    }
    repository = { namespace: req.repository.slice(0, slash), repository: req.repository.slice(slash + 1) };
  }
  let since: number | undefined;
  if (req.since !== undefined) {
    const ago = parseDuration(req.since);
    since = ago !== null ? now - ago : /^\d{4}-\d{2}-\d{2}/.test(req.since) ? Date.parse(req.since) : Number.NaN;
    if (!Number.isFinite(since)) return { ok: false, field: 'since', message: `"${req.since}" is neither a date (2025-01-31, 2025-01-31T12:00:00Z) nor a duration ago (30m, 2h, 7d)` };
  }
  const identity = JSON.stringify({ rules: rules.map((r) => r.name), repository: req.repository ?? null, since: req.since ?? null });
  const runId = `backfill:${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
  return { ok: true, plan: { runId, rules, repository, since, dryRun: req.dryRun === true } };
}
