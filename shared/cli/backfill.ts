/**
 * `ferry backfill`: runs a backfill here, against the ledger and clouds the config names, until it is
 * done (or killed: run it again with the same arguments and it resumes from the ledger's cursors).
 * Progress on stderr when it is a terminal; a summary at the end.
 */
import { hostname } from 'node:os';
import type { WalkCounts } from '../backfill/counts.ts';
import type { BackfillResult } from '../backfill/run.ts';
import { keyValues, table, type Io } from './output.ts';

export interface BackfillArgs {
  rule?: string | undefined;
  repository?: string | undefined;
  since?: string | undefined;
  dryRun: boolean;
  json: boolean;
}

export class BackfillUsageError extends Error {}

export function progressLine(c: WalkCounts, at: string): string {
  return `backfill: ${c.repositories} repos, ${c.found} images, ${c.alreadyThere} there, ${c.inLedger} in ledger, ${c.created} created, ${c.refused} refused — ${at}`.slice(0, 160);
}

export async function runBackfillCommand(args: BackfillArgs, env: Record<string, string | undefined>, io: Io): Promise<{ result: BackfillResult }> {
  const { buildDeps } = await import('../runtime/bootstrap.ts');
  const { checkBackfill } = await import('../backfill/request.ts');
  const { runBackfill } = await import('../backfill/run.ts');
  const deps = await buildDeps(env as NodeJS.ProcessEnv);
  try {
    const checked = checkBackfill(args, deps.config, deps.clock.now());
    if (!checked.ok) throw new BackfillUsageError(`--${checked.field}: ${checked.message}`);
    const tty = !args.json && io.isTTY?.() === true;
    const result = await runBackfill(deps, checked.plan, {
      // One owner per host: a backfill killed here and run again takes its cursors back at once.
      owner: `ferry-cli@${hostname()}`,
      hasTime: () => true,
      onProgress: tty ? (c, at) => io.progress?.(progressLine(c, at)) : undefined,
    });
    if (tty) io.progress?.(null);
    return { result };
  } finally {
    await deps.ledger.close().catch(() => {});
  }
}

export function printSummary(io: Io, r: BackfillResult): void {
  const s = r.summary;
  io.out(`backfill ${r.runId}${r.dryRun ? ' (dry run: nothing created)' : ''}: ${r.done ? 'done' : 'not finished'}`);
  io.out(
    keyValues([
      ['repositories', s.repositories],
      ['images found', s.found],
      ['targets', s.targets],
      ['already there', s.alreadyThere],
      ['in the ledger', s.inLedger],
      [r.dryRun ? 'would create' : 'created', s.created],
      ['refused', s.refused],
      ['not checked', s.unchecked],
      ['errors', s.errors],
    ]),
  );
  if (Object.keys(s.reasons).length)
    io.out(
      `\nRefused: ${Object.entries(s.reasons)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  if (s.examples.length)
    io.out(
      table(
        s.examples.map((e) => ({ image: e.image, rule: e.rule, field: e.field, reason: e.reason })),
        ['image', 'rule', 'field', 'reason'],
      ),
    );
  const problems = r.walks.filter((w) => w.error);
  for (const w of problems) io.err(`ferry: ${w.rule} ${w.source}: ${w.error!.code}: ${w.error!.message}`);
  for (const s2 of r.skipped) io.err(`ferry: ${s2.rule} ${s2.source}: skipped: ${s2.reason}`);
}
