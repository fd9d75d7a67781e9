/**
 * What an SWR source holds: the repositories of its configured organizations (ListReposDetails)
 * and their tags with digests (ListRepositoryTags); and what a remote region holds at a tag.
 */
import { CloudInvalidRequestError, CloudNotFoundError } from '../../clients/errors.ts';
import type { SwrPage } from '../../clients/swr.ts';
import type { InventoryPage, InventorySource, SourceInventory, SourceRepository, SourceTag } from '../types.ts';
import type { SwrClients } from './clients.ts';
import type { SwrTaskTarget } from './target.ts';

const PAGE_SIZE = 100;
/** Tags of one repository read at most (100 pages): past that the listing is cut, not the run. */
const MAX_TAG_PAGES = 100;

function swrSource(source: InventorySource): { region: string; namespaces: string[] } {
  const { region, namespaces } = source;
  if (typeof region !== 'string' || !Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
    throw new CloudInvalidRequestError({ provider: 'swr', code: 'InvalidSource', message: `source "${source.name}" is not an SWR source (no region and namespaces)` });
  }
  return { region, namespaces };
}

/** Cursor `<organization index>:<offset>`: organizations are listed one after another, in config order. */
function parseCursor(cursor: string | null, organizations: number): { index: number; offset: number } {
  if (cursor === null) return { index: 0, offset: 0 };
  const m = /^(\d{1,4}):(\d{1,9})$/.exec(cursor);
  if (!m || Number(m[1]) >= organizations)
    throw new CloudInvalidRequestError({ provider: 'swr', code: 'InvalidCursor', message: `cursor "${cursor}" was not made by the SWR inventory of this source` });
  return { index: Number(m[1]), offset: Number(m[2]) };
}

/** Whether a page ends the listing: short, or `Content-Range` says nothing is left. */
function lastPage(page: SwrPage<unknown>, offset: number, limit: number): boolean {
  return page.listed < limit || (page.total !== null && offset + page.listed >= page.total);
}

const time = (iso: string | undefined) => {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  // SWR writes the epoch for a time it does not know.
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
};

export function swrInventory(clients: SwrClients): SourceInventory {
  return {
    async repositories(source: InventorySource, page: InventoryPage) {
      const { region, namespaces } = swrSource(source);
      const { index, offset } = parseCursor(page.cursor, namespaces.length);
      const limit = Math.min(PAGE_SIZE, Math.max(1, page.limit));
      const namespace = namespaces[index]!;
      let listed: SwrPage<SourceRepository>;
      try {
        listed = await clients.region(region).listRepositories({ namespace, limit, offset });
      } catch (err) {
        // An organization that does not exist (yet) holds nothing.
        if (!(err instanceof CloudNotFoundError)) throw err;
        listed = { items: [], listed: 0, total: 0 };
      }
      const next = lastPage(listed, offset, limit) ? (index + 1 < namespaces.length ? `${index + 1}:0` : null) : `${index}:${offset + listed.listed}`;
      return { items: listed.items, cursor: next };
    },

    async tags(source: InventorySource, repo: SourceRepository) {
      const { region } = swrSource(source);
      const swr = clients.region(region);
      const out: SourceTag[] = [];
      try {
        for (let n = 0, offset = 0; n < MAX_TAG_PAGES; n++) {
          const page = await swr.listTags({ namespace: repo.namespace, repository: repo.repository, limit: PAGE_SIZE, offset });
          for (const t of page.items) out.push({ tag: t.tag, digest: t.digest, pushedAt: time(t.updated) });
          if (lastPage(page, offset, PAGE_SIZE)) break;
          offset += page.listed;
        }
      } catch (err) {
        if (err instanceof CloudNotFoundError) return [];
        throw err;
      }
      return out;
    },
  };
}

/** The digest the remote region holds at the task's tag; null when it holds no such tag, repository or organization. */
export async function swrTargetDigest(clients: SwrClients, t: SwrTaskTarget): Promise<string | null> {
  const { to } = t;
  try {
    return await clients.region(to.remoteRegion).tagDigest({ namespace: to.remoteNamespace, repository: to.repo, tag: to.tag });
  } catch (err) {
    if (err instanceof CloudNotFoundError) return null;
    throw err;
  }
}
