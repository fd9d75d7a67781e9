/**
 * The ledger's proof of what Ferry copied: a delete event at a source deletes only tags these rows
 * show Ferry wrote (replicate/deletions.ts decides from them).
 */
import type { LedgerCore } from './core.ts';
import { type TaskRow, toTask } from './rows.ts';
import { LedgerInputError } from './states.ts';

/** A deleted source image: by tag (and digest, when the event names one), or by digest alone. */
export interface CopiedImage {
  source: string;
  namespace: string;
  repository: string;
  tag?: string | null | undefined;
  digest?: string | null | undefined;
}

/** How many copy tasks one lookup reads at most: a delete event names one image, not a history. */
const MAX_ROWS = 1000;

/**
 * The copy tasks of every push of this image (by its tag, or every tag pushed with this digest when the
 * event names no tag), and every succeeded copy task that wrote one of their targets, whatever image it
 * copied: who wrote a target last decides whether its tag is this image's to delete.
 */
export async function copiesOf(core: LedgerCore, img: CopiedImage): Promise<TaskRow[]> {
  if (!img.tag && !img.digest) throw new LedgerInputError('tag', 'a deleted image is named by its tag or its digest');
  const { rows } = await core.db.query(
    `WITH mine AS (
       SELECT t.* FROM tasks t JOIN replications r ON r.id = t.replication_id
       WHERE r.action = 'copy' AND t.action = 'copy'
         AND r.source = $1 AND r.namespace = $2 AND r.repository = $3
         AND (CASE WHEN $4::text IS NOT NULL THEN r.tag = $4 ELSE r.digest = $5 END)
       LIMIT ${MAX_ROWS}
     )
     SELECT * FROM mine
     UNION
     SELECT t.* FROM tasks t
     WHERE t.action = 'copy' AND t.state = 'succeeded' AND t.target_key IN (SELECT target_key FROM mine)
     LIMIT ${2 * MAX_ROWS}`,
    [img.source, img.namespace, img.repository, img.tag ?? null, img.digest ?? null],
  );
  return rows.map(toTask);
}
