/**
 * Values the ledger cannot store, refused where requests come in (webhook payloads, API query and
 * body) with a 4xx that names the field, instead of a database error answered 500 ("may be
 * retried": a sender would retry a payload that can never succeed):
 * - NUL (U+0000): PostgreSQL `text` and `jsonb` refuse it;
 * - lone surrogates (half of a UTF-16 pair): not Unicode; `jsonb` refuses them, `text` would
 *   silently store U+FFFD instead;
 * - times outside the years 100–9999 (UTC): the ledger writes ISO-8601 (`toISOString`), which
 *   PostgreSQL cannot read for year 0, negative or five-digit years; and PGlite reads years 1–99
 *   back as 19xx/20xx. No registry pushed anything then.
 */

const LONE_SURROGATE = /\p{Cs}/u;

/** Why the ledger cannot store this text, or null. */
export function textProblem(value: string): string | null {
  const nul = value.indexOf('\u0000');
  if (nul >= 0) return `must not contain NUL characters (U+0000, at offset ${nul})`;
  const lone = LONE_SURROGATE.exec(value);
  if (lone) return `must be valid Unicode (a lone surrogate U+${lone[0].charCodeAt(0).toString(16).toUpperCase()} at offset ${lone.index})`;
  return null;
}

/** The earliest and latest instants both ledgers store and read back unchanged. */
export const MIN_TIME_MS = Date.parse('0100-01-01T00:00:00.000Z');
export const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Why the ledger cannot store this instant (epoch ms), or null. */
export function timeProblem(ms: number): string | null {
  if (Number.isNaN(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) return 'must be a time in the years 100 to 9999 (UTC)';
  return null;
}
