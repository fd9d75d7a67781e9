/**
 * What an ACR source holds (ListRepository, ListRepoTag) and what an ACR target holds at a tag
 * (GetRepoTag): backfill and the drift audit list the first, verification and plan read the second.
 */
import { CloudInvalidRequestError, CloudNotFoundError } from '../../clients/errors.ts';
import { hasMorePages } from '../../clients/validation.ts';
import type { InventoryPage, InventorySource, SourceInventory, SourceRepository, SourceTag } from '../types.ts';
import type { AcrClients } from './clients.ts';
import type { AcrTaskTarget } from './target.ts';

const PAGE_SIZE = 100;
/** Tags of one repository read at most (100 pages): past that the listing is cut, not the run. */
const MAX_TAG_PAGES = 100;
/** The repository is gone (a not-found about the instance is an error: it says the config is wrong). */
const REPO_GONE = new Set(['REPO_NOT_EXIST', 'REPO_NOT_FOUND', 'NAMESPACE_NOT_EXIST']);

function acrSource(source: InventorySource): { instanceId: string; region: string } {
  const { instanceId, region } = source;
  if (typeof instanceId !== 'string' || typeof region !== 'string') {
    throw new CloudInvalidRequestError({ provider: 'acr', code: 'InvalidSource', message: `source "${source.name}" is not an ACR source (no instanceId and region)` });
  }
  return { instanceId, region };
}

/** Cursor: the next ListRepository page number, `p<n>`. */
function pageOfCursor(cursor: string | null): number {
  if (cursor === null) return 1;
  const m = /^p([1-9]\d{0,6})$/.exec(cursor);
  if (!m) throw new CloudInvalidRequestError({ provider: 'acr', code: 'InvalidCursor', message: `cursor "${cursor}" was not made by the ACR inventory` });
  return Number(m[1]);
}

const isGone = (err: unknown) => err instanceof CloudNotFoundError && REPO_GONE.has(err.code);

/**
 * Runs `fn` with the repository's id; a cached id the cloud no longer knows (the repository was
 * deleted and maybe made again) is looked up once more. Null when the repository does not exist.
 */
async function withRepoId<T>(clients: AcrClients, region: string, instanceId: string, repo: SourceRepository, fn: (repoId: string) => Promise<T>): Promise<T | null> {
  for (let fresh = 0; ; fresh++) {
    try {
      return await fn(await clients.repoId(region, instanceId, repo.namespace, repo.repository));
    } catch (err) {
      if (!isGone(err)) throw err;
      clients.forget(instanceId, repo.namespace, repo.repository);
      if (fresh > 0) return null;
    }
  }
}

export function acrInventory(clients: AcrClients): SourceInventory {
  return {
    async repositories(source: InventorySource, page: InventoryPage) {
      const { instanceId, region } = acrSource(source);
      const pageNo = pageOfCursor(page.cursor);
      // ListRepository pages by number: a page size other than the cursor's would skip or repeat repositories.
      const pageSize = Math.min(PAGE_SIZE, Math.max(1, page.limit));
      const r = await clients.region(region).listRepository({ instanceId, repoStatus: 'NORMAL', pageNo, pageSize });
      const items: SourceRepository[] = [];
      for (const repo of r.items) {
        if (!repo.repoNamespaceName || !repo.repoName) continue;
        clients.remember(instanceId, repo.repoNamespaceName, repo.repoName, repo.repoId);
        items.push({ namespace: repo.repoNamespaceName, repository: repo.repoName });
      }
      return { items, cursor: hasMorePages(r, pageNo, pageSize) ? `p${pageNo + 1}` : null };
    },

    async tags(source: InventorySource, repo: SourceRepository) {
      const { instanceId, region } = acrSource(source);
      const acr = clients.region(region);
      const listed = await withRepoId(clients, region, instanceId, repo, async (repoId) => {
        const out: SourceTag[] = [];
        for (let pageNo = 1; pageNo <= MAX_TAG_PAGES; pageNo++) {
          const page = await acr.listRepoTag({ instanceId, repoId, pageNo, pageSize: PAGE_SIZE });
          for (const t of page.items) out.push({ tag: t.tag, digest: t.digest ?? null, pushedAt: t.imageUpdate ?? t.imageCreate });
          if (!hasMorePages(page, pageNo, PAGE_SIZE)) break;
        }
        return out;
      });
      return listed ?? [];
    },
  };
}

/** The digest the target instance holds at the rendered tag, null when it holds no such tag (or repository). */
export async function acrTargetDigest(clients: AcrClients, t: AcrTaskTarget): Promise<string | null> {
  const { to } = t;
  const repo = { namespace: to.namespace, repository: to.repo };
  return withRepoId(clients, to.region, to.instanceId, repo, async (repoId) => {
    try {
      return await clients.region(to.region).getRepoTagDigest({ instanceId: to.instanceId, repoId, tag: to.tag });
    } catch (err) {
      if (err instanceof CloudNotFoundError && err.code === 'TAG_NOT_EXIST') return null;
      throw err;
    }
  });
}
