/**
 * Where walks keep their cursors: the ledger (backfill runs, the audit), or memory for a dry run,
 * which writes nothing; its positions travel back to the caller as an opaque token instead.
 */
import { WALK_START, type WalkClaim, type WalkCursorRow, type WalkKey, type WalkPosition } from '../ledger/index.ts';

export type CursorStore = Pick<import('../ledger/index.ts').WalkCursors, 'claim' | 'save' | 'finish' | 'release'>;

const id = (k: WalkKey) => `${k.rule}\u0000${k.source}`;

export class MemoryCursors implements CursorStore {
  private readonly rows = new Map<string, WalkCursorRow>();

  /** Positions from `token` (see `token()`); an unreadable token is refused by the caller first (`readToken`). */
  constructor(from: Record<string, { position: WalkPosition; counts: Record<string, unknown>; finished: boolean }> = {}) {
    for (const [k, v] of Object.entries(from)) {
      const [rule, source] = k.split('\u0000') as [string, string];
      this.rows.set(k, { runId: 'dry-run', rule, source, position: v.position, counts: v.counts, passStartedAt: null, finishedAt: v.finished ? 'done' : null, lastFullPassAt: null });
    }
  }

  async claim(k: WalkKey): Promise<WalkClaim> {
    let row = this.rows.get(id(k));
    if (!row) this.rows.set(id(k), (row = { ...k, position: { ...WALK_START }, counts: {}, passStartedAt: null, finishedAt: null, lastFullPassAt: null }));
    return row.finishedAt ? { state: 'finished', row } : { state: 'claimed', row };
  }

  async save(k: WalkKey, _owner: string, position: WalkPosition, counts: Record<string, unknown>): Promise<boolean> {
    const row = this.rows.get(id(k));
    if (row) Object.assign(row, { position, counts });
    return true;
  }

  async finish(k: WalkKey, _owner: string, counts: Record<string, unknown>): Promise<boolean> {
    const row = this.rows.get(id(k));
    if (row) Object.assign(row, { counts, finishedAt: 'done' });
    return true;
  }

  async release(): Promise<void> {}

  /** The positions as a token for the next call of a dry run. */
  token(): string {
    const out: Record<string, unknown> = {};
    for (const [k, r] of this.rows) out[k] = { position: r.position, counts: r.counts, finished: r.finishedAt !== null };
    return Buffer.from(JSON.stringify(out)).toString('base64url');
  }
}

/** A dry run's token back into positions; null when it is not one `token()` made. */
export function readToken(token: string): ConstructorParameters<typeof MemoryCursors>[0] | null {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      const p = (e as { position?: Record<string, unknown> } | null)?.position;
      if (!k.includes('\u0000') || !p || typeof p.pageOffset !== 'number' || (p.pageCursor !== null && typeof p.pageCursor !== 'string') || (p.tagAfter !== null && typeof p.tagAfter !== 'string'))
        return null;
    }
    return v as ConstructorParameters<typeof MemoryCursors>[0];
  } catch {
    return null;
  }
}
