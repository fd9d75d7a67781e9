/**
 * Listing a registry over the distribution API: `GET /v2/_catalog` and `GET /v2/<name>/tags/list`,
 * paged by `n`/`last` and the `Link: <…>; rel="next"` header. Registries may refuse the catalog
 * (Docker Hub, Harbor to non-admins): that is a CopyError (UNAUTHORIZED, DENIED, NAME_UNKNOWN…)
 * the caller reads as "no catalog here".
 */
import { context } from './copy.ts';
import { RegistryClient } from './registry-client.ts';
import { CopyError, type CopyOptions, type RegistryEndpoint } from './types.ts';

/** Tags pages read at most for one repository: past that the listing is cut, not the run. */
const MAX_TAG_PAGES = 100;
const TAGS_PAGE = 1000;

/** The `rel="next"` target of a Link header, resolved against the request's URL; null when there is none. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return null;
}

async function readJson<T>(res: Response, what: string, registry: RegistryEndpoint): Promise<T> {
  try {
    return (await res.json()) as T;
  } catch {
    throw new CopyError('MANIFEST_INVALID', `${what} at ${registry.name}: the answer is not JSON`, false, res.status);
  }
}

/**
 * One page of the catalog after `last` (null: from the start): its repositories and the `last` to ask
 * for next, null at the end.
 */
export async function listCatalog(registry: RegistryEndpoint, page: { last: string | null; n: number }, opts: CopyOptions = {}): Promise<{ repositories: string[]; last: string | null }> {
  const client = new RegistryClient(registry, ['registry:catalog:*'], context(opts));
  const query = new URLSearchParams({ n: String(page.n), ...(page.last !== null ? { last: page.last } : {}) });
  const url = client.url(`_catalog?${query}`);
  const res = await client.request('GET', url, { what: 'catalog' });
  const body = await readJson<{ repositories?: unknown }>(res, 'catalog', registry);
  const repositories = Array.isArray(body.repositories) ? body.repositories.filter((r): r is string => typeof r === 'string') : [];
  const next = nextLink(res.headers.get('link'), url);
  // Registries that page without a Link (or cap `n` below what was asked) are followed by the last name listed.
  const last = next ? new URL(next).searchParams.get('last') : null;
  return { repositories, last: last ?? (next && repositories.length ? repositories[repositories.length - 1]! : null) };
}

/** Every tag of a repository (`tags/list`, following Link); a repository the registry does not know has none. */
export async function listTags(registry: RegistryEndpoint, repository: string, opts: CopyOptions = {}): Promise<string[]> {
  const client = new RegistryClient(registry, [`repository:${repository}:pull`], context(opts));
  const out: string[] = [];
  let url: string | null = client.url(`${repository}/tags/list?n=${TAGS_PAGE}`);
  for (let n = 0; url && n < MAX_TAG_PAGES; n++) {
    const res = await client.request('GET', url, { what: `tags of ${repository}`, ok: [404] });
    if (res.status === 404) {
      await res.body?.cancel();
      return out;
    }
    const body = await readJson<{ tags?: unknown }>(res, `tags of ${repository}`, registry);
    if (Array.isArray(body.tags)) for (const t of body.tags) if (typeof t === 'string') out.push(t);
    url = nextLink(res.headers.get('link'), url);
  }
  return out;
}
