/** `ferry triggers`: the API's trigger report as a table and a summary line. */
import { table } from './output.ts';

interface Report {
  applied: boolean;
  sources: {
    source: string;
    kind: string;
    skipped?: string;
    repositories: { namespace: string; repository: string; state: string; triggerId?: string; url?: string; error?: { code: string; message: string } }[];
  }[];
  counts: Record<string, number>;
}

const NOTE: Record<string, string> = {
  token_differs: 'calls this Ferry with another token: update it at the registry',
  name_taken: 'a trigger named "ferry" calls another URL',
};

export function formatTriggers(r: Report): string {
  const rows = r.sources.flatMap((s) =>
    s.repositories.map((x) => ({
      source: s.source,
      repository: `${x.namespace}/${x.repository}`,
      state: x.state,
      trigger: x.triggerId ?? '',
      note: x.error ? `${x.error.code}: ${x.error.message}` : (NOTE[x.state] ?? ''),
    })),
  );
  const lines = rows.length ? [table(rows, ['source', 'repository', 'state', 'trigger', 'note'])] : ['no repository matched by a rule at a source with per-repository triggers'];
  for (const s of r.sources) if (s.skipped) lines.push(`${s.source}: skipped, ${s.skipped}`);
  const summary = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  lines.push('', summary || 'nothing to report');
  if (!r.applied && r.counts.missing) lines.push('create the missing ones: ferry triggers --apply');
  return lines.join('\n');
}

/** Exit status: 1 when something is still missing or failed, so scripts can check the intake. */
export function triggersExit(r: Report): 0 | 1 {
  return r.counts.failed || r.counts.missing ? 1 : 0;
}
