/**
 * What a plain registry holds (Harbor, distribution, Docker Hub), listed over the distribution API:
 * `_catalog` where the registry allows it, else the repositories the rules name (`page.hint`);
 * `tags/list` and a manifest HEAD per tag for digests. And what a copy's target holds at its tag.
 */
import { CloudError, CloudInvalidRequestError, CloudTransientError } from '../../clients/errors.ts';
import { listCatalog, listTags } from '../../copy/catalog.ts';
import { resolveDigest } from '../../copy/copy.ts';
import { forEachLimit } from '../../copy/pool.ts';
import { CopyError } from '../../copy/types.ts';
import type { InventoryPage, InventorySource, SourceInventory, SourceRepository, SourceTag } from '../types.ts';
import type { Endpoints } from './endpoints.ts';
import type { CopyTaskTarget } from './target.ts';

/** Manifest HEADs at once while reading a repository's digests. */
const HEADS_AT_ONCE = 4;
/** A catalog Ferry may not read: listing falls back to the rules' literal repositories. */
const CATALOG_REFUSED = new Set(['UNAUTHORIZED', 'DENIED', 'NAME_UNKNOWN', 'UNSUPPORTED']);
/** Not there: no tag, no repository. */
const ABSENT = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);

/** An engine failure in the clouds' error vocabulary: the sweep tells a passing outage from a refusal by it. */
export function asCloudError(err: CopyError): CloudError {
  const init = { provider: 'copy', code: err.code, message: err.message, status: err.status ?? undefined, cause: err };
  return err.retryable ? new CloudTransientError(init) : new CloudError(init);
}

/** `team/app` → namespace `team`, repository `app` (a name without `/` has no namespace: not listed). */
function split(name: string): SourceRepository | null {
  const slash = name.indexOf('/');
  return slash > 0 && slash < name.length - 1 ? { namespace: name.slice(0, slash), repository: name.slice(slash + 1) } : null;
}

type Cursor = { kind: 'catalog'; last: string | null } | { kind: 'hint'; index: number };

/** `c:<last repository>` pages the catalog, `h:<index>` the hint; null: the start. */
function parseCursor(cursor: string | null): Cursor | null {
  if (cursor === null) return null;
  if (cursor.startsWith('c:') && cursor.length > 2) return { kind: 'catalog', last: cursor.slice(2) };
  const m = /^h:(\d{1,9})$/.exec(cursor);
  if (m) return { kind: 'hint', index: Number(m[1]) };
  throw new CloudInvalidRequestError({ provider: 'copy', code: 'InvalidCursor', message: `cursor "${cursor}" was not made by the registry inventory` });
}

function fromHint(page: InventoryPage, index: number) {
  const hint = page.hint ?? [];
  const end = index + Math.max(1, page.limit);
  return { items: hint.slice(index, end), cursor: end < hint.length ? `h:${end}` : null };
}

const wrapped = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    throw err instanceof CopyError ? asCloudError(err) : err;
  });

export function registryInventory(endpoints: Endpoints): SourceInventory {
  return {
    async repositories(source: InventorySource, page: InventoryPage) {
      const cursor = parseCursor(page.cursor);
      if (cursor?.kind === 'hint') return fromHint(page, cursor.index);
      // Docker Hub has no catalog for anyone.
      if (source.kind === 'dockerhub') return fromHint(page, 0);
      let listed: Awaited<ReturnType<typeof listCatalog>>;
      try {
        listed = await listCatalog(endpoints.of(source.name), { last: cursor?.last ?? null, n: Math.max(1, page.limit) });
      } catch (err) {
        // Refused at the start: the rules' names instead. Refused half-way: the catalog was readable, so this is an outage.
        if (err instanceof CopyError && cursor === null && CATALOG_REFUSED.has(err.code)) return fromHint(page, 0);
        throw err instanceof CopyError ? asCloudError(err) : err;
      }
      const items = listed.repositories.map(split).filter((r): r is SourceRepository => r !== null);
      return { items, cursor: listed.last === null ? null : `c:${listed.last}` };
    },

    async tags(source: InventorySource, repo: SourceRepository) {
      const registry = endpoints.of(source.name);
      const repository = `${repo.namespace}/${repo.repository}`;
      const names = await wrapped(listTags(registry, repository));
      const out: SourceTag[] = names.map((tag) => ({ tag, digest: null }));
      await wrapped(
        forEachLimit(out, HEADS_AT_ONCE, async (t) => {
          t.digest = await resolveDigest({ registry, repository, tag: t.tag });
        }),
      );
      // A tag deleted between the listing and its HEAD is not there any more.
      return out.filter((t) => t.digest !== null);
    },
  };
}

/** The digest the destination registry holds at the copy's tag, null when it holds no such tag or repository. */
export async function copyTargetDigest(endpoints: Endpoints, t: CopyTaskTarget): Promise<string | null> {
  const { to } = t;
  try {
    return await resolveDigest({ registry: endpoints.of(to.registry), repository: `${to.namespace}/${to.repository}`, tag: to.tag });
  } catch (err) {
    if (!(err instanceof CopyError)) throw err;
    if (ABSENT.has(err.code)) return null;
    throw asCloudError(err);
  }
}
