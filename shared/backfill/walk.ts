/**
 * The walk backfill and the drift audit share: one rule over one source's inventory, repositories a
 * page at a time, then each covered repository's tags (in name order, a chunk at a time), from the
 * cursor where the last walk stopped, until the inventory ends or the time does. The cursor is saved
 * after every chunk, so a walk killed anywhere resumes there; the tasks it creates are keyed like
 * pushes, so a chunk walked twice creates nothing twice.
 */
import type { WalkKey, WalkPosition } from '../ledger/index.ts';
import { inventoryFor } from '../providers/registry.ts';
import type { InventorySource, SourceRepository } from '../providers/types.ts';
import { errorInfo } from '../replicate/submit.ts';
import { literalRepositories } from '../rules/literal.ts';
import { countsFrom, type WalkCounts } from './counts.ts';
import type { CursorStore } from './cursors.ts';
import { walkTags, type WalkEnv } from './images.ts';
import { coversRepository } from './scope.ts';

/** Repositories asked for per inventory page. */
export const REPOSITORY_PAGE = 100;
/** Tags matched, checked and recorded between two cursor saves. */
export const TAG_CHUNK = 50;

export interface WalkOptions {
  store: CursorStore;
  key: WalkKey;
  owner: string;
  leaseMs: number;
  /** False once the walk must stop (it saves where it got to first). */
  hasTime(): boolean;
  /** Start a finished pass again when it ended at or before this (epoch ms); else a finished pass is reported as such. */
  restartFinishedBefore?: number | null | undefined;
  /** Walk only this repository instead of the inventory. */
  repository?: SourceRepository | undefined;
  onProgress?: ((counts: WalkCounts, at: string) => void) | undefined;
}

export type WalkResult =
  /** `before`: the pass's counts when this walk took it up (the difference is this walk's). */
  | { status: 'done' | 'partial'; counts: WalkCounts; before: WalkCounts; position: WalkPosition }
  | { status: 'finished'; counts: WalkCounts }
  | { status: 'busy' }
  | { status: 'error'; counts: WalkCounts; before: WalkCounts; error: { code: string; message: string } };

export async function walkSource(env: WalkEnv, o: WalkOptions): Promise<WalkResult> {
  const claim = await o.store.claim(o.key, { owner: o.owner, leaseMs: o.leaseMs, restartFinishedBefore: o.restartFinishedBefore });
  if (claim.state === 'busy') return { status: 'busy' };
  if (claim.state === 'finished') return { status: 'finished', counts: countsFrom(claim.row.counts) };
  const counts = countsFrom(claim.row.counts);
  const before = countsFrom(claim.row.counts);
  let pos: WalkPosition = { ...claim.row.position };
  const provider = inventoryFor(env.source.kind);
  const inventory = provider ? env.deps.clouds.of(provider.name).inventory : undefined;
  if (!inventory) {
    await o.store.release(o.key, o.owner);
    return { status: 'error', counts, before, error: { code: 'NoInventory', message: `no provider lists what ${env.source.kind} source "${env.source.name}" holds` } };
  }
  const source = env.source as unknown as InventorySource;
  const save = () => o.store.save(o.key, o.owner, pos, counts as unknown as Record<string, unknown>, o.leaseMs);
  const stop = async (): Promise<WalkResult> => {
    const kept = await save();
    await o.store.release(o.key, o.owner);
    return kept ? { status: 'partial', counts, before, position: pos } : { status: 'busy' };
  };
  try {
    for (;;) {
      if (!o.hasTime()) return await stop();
      const page = o.repository
        ? { items: [o.repository], cursor: null }
        : await env.limiter.run(() => inventory.repositories(source, { cursor: pos.pageCursor, limit: REPOSITORY_PAGE, hint: literalRepositories([env.rule], env.source.name) }, env.deps));
      for (let i = pos.pageOffset; i < page.items.length; i++) {
        const repo = page.items[i]!;
        if (coversRepository(env.rule, repo)) {
          if (!o.hasTime()) return await stop();
          const listed = await env.limiter.run(() => inventory.tags(source, repo, env.deps));
          const tags = [...listed].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)).filter((t) => pos.tagAfter === null || t.tag > pos.tagAfter);
          if (pos.tagAfter === null) counts.repositories++;
          for (let t = 0; t < tags.length; t += TAG_CHUNK) {
            if (!o.hasTime()) return await stop();
            const chunk = tags.slice(t, t + TAG_CHUNK);
            await walkTags(env, repo, chunk, counts);
            pos = { ...pos, pageOffset: i, tagAfter: chunk[chunk.length - 1]!.tag };
            if (!(await save())) return { status: 'busy' };
            o.onProgress?.(counts, `${repo.namespace}/${repo.repository}`);
          }
        }
        pos = { ...pos, pageOffset: i + 1, tagAfter: null };
      }
      if (page.cursor === null) {
        await o.store.finish(o.key, o.owner, counts as unknown as Record<string, unknown>);
        return { status: 'done', counts, before, position: pos };
      }
      pos = { pageCursor: page.cursor, pageOffset: 0, tagAfter: null };
      if (!(await save())) return { status: 'busy' };
    }
  } catch (err) {
    // A listing or the ledger failed: the cursor stays before the work not done; the next run resumes there.
    counts.errors++;
    const info = errorInfo(err);
    env.deps.log.warn('walk stopped by an error', { rule: env.rule.name, source: env.source.name, error: info });
    await save().catch(() => false);
    await o.store.release(o.key, o.owner).catch(() => {});
    return { status: 'error', counts, before, error: { code: info.code, message: info.message } };
  }
}
