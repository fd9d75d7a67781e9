/**
 * What a walk found, per (rule, source) and summed over a run: images the rule matches, their targets
 * already holding the image, already in the ledger, created (or, on a dry run, that would be), and
 * refused with why. Kept in the walk's cursor so a resumed walk reports the whole pass.
 */
export interface WalkCounts {
  repositories: number;
  /** Tags the rule matches (images). */
  found: number;
  /** Image × target pairs rendered. */
  targets: number;
  /** The target holds the tag at the source's digest. */
  alreadyThere: number;
  /** The ledger has a task for the image and target (the webhook's, an earlier walk's): its own state decides. */
  inLedger: number;
  /** Tasks created (dry run: that would be created). */
  created: number;
  /** Targets missing or different that were not created, by reason (naming errors, unusable names, no digest). */
  refused: number;
  /** Target checks that failed (the task was created anyway: the ledger path is idempotent). */
  unchecked: number;
  /** Listings that failed (the walk stops there and resumes on the next run). */
  errors: number;
  reasons: Record<string, number>;
  /** A few refusals, for the operator to act on. */
  examples: { image: string; rule: string; field?: string | undefined; reason: string }[];
}

const MAX_EXAMPLES = 20;

export function emptyCounts(): WalkCounts {
  return { repositories: 0, found: 0, targets: 0, alreadyThere: 0, inLedger: 0, created: 0, refused: 0, unchecked: 0, errors: 0, reasons: {}, examples: [] };
}

/** Counts read back from a cursor row (fields missing from an older shape are 0). */
export function countsFrom(json: Record<string, unknown> | null | undefined): WalkCounts {
  const c = emptyCounts();
  if (!json) return c;
  for (const k of ['repositories', 'found', 'targets', 'alreadyThere', 'inLedger', 'created', 'refused', 'unchecked', 'errors'] as const) {
    if (typeof json[k] === 'number') c[k] = json[k];
  }
  if (json.reasons && typeof json.reasons === 'object') c.reasons = { ...(json.reasons as Record<string, number>) };
  if (Array.isArray(json.examples)) c.examples = json.examples.slice(0, MAX_EXAMPLES) as WalkCounts['examples'];
  return c;
}

export function refuse(c: WalkCounts, code: string, example: WalkCounts['examples'][number]): void {
  c.refused++;
  c.reasons[code] = (c.reasons[code] ?? 0) + 1;
  if (c.examples.length < MAX_EXAMPLES) c.examples.push(example);
}

export function addCounts(into: WalkCounts, c: WalkCounts): WalkCounts {
  for (const k of ['repositories', 'found', 'targets', 'alreadyThere', 'inLedger', 'created', 'refused', 'unchecked', 'errors'] as const) into[k] += c[k];
  for (const [k, n] of Object.entries(c.reasons)) into.reasons[k] = (into.reasons[k] ?? 0) + n;
  into.examples.push(...c.examples.slice(0, Math.max(0, MAX_EXAMPLES - into.examples.length)));
  return into;
}
