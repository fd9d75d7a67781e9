/**
 * Deleting a tag Ferry copied to a registry. The OCI API deletes manifests, not tags: deleting the
 * manifest removes every tag on it. So the tag must still hold the digest Ferry wrote, and no other tag
 * of the repository may point at that digest; either way the registry is left as it is.
 */
import { describeRefusal, readErrorBody } from './errors.ts';
import { getManifest } from './fetch-manifest.ts';
import { MANIFEST_ACCEPT } from './manifests.ts';
import { nodeFetch } from './node-transport.ts';
import { type ClientContext, RegistryClient } from './registry-client.ts';
import type { CopyOptions, RegistryEndpoint } from './types.ts';

/** Tags looked at for another tag on the digest: beyond this Ferry cannot prove none is, and refuses. */
export const MAX_TAGS_CHECKED = 200;
const PAGE = 100;

export type TagDeletion = { outcome: 'deleted'; digest: string } | { outcome: 'absent' } | { outcome: 'refused'; reason: string };

export interface TagRef {
  registry: RegistryEndpoint;
  repository: string;
  tag: string;
  /** The digest Ferry wrote there. */
  written: string;
}

export async function deleteCopiedTag(ref: TagRef, opts: CopyOptions = {}): Promise<TagDeletion> {
  const ctx: ClientContext = { fetch: opts.fetch ?? nodeFetch, now: opts.now ?? Date.now, sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))), stats: { requests: 0 } };
  const client = new RegistryClient(ref.registry, [`repository:${ref.repository}:pull,delete`], ctx);
  const where = `${ref.registry.name}/${ref.repository}`;
  const held = await headDigest(client, ref.repository, ref.tag);
  if (held === null) return { outcome: 'absent' };
  if (held !== ref.written) return { outcome: 'refused', reason: `${where}:${ref.tag} now holds ${held}, not ${ref.written} that Ferry copied` };

  const tags = await listTags(client, ref.repository);
  if (tags === null) return { outcome: 'absent' };
  const others = tags.filter((t) => t !== ref.tag);
  if (others.length > MAX_TAGS_CHECKED) {
    return { outcome: 'refused', reason: `${where} has ${others.length} other tags, more than the ${MAX_TAGS_CHECKED} Ferry checks for one on ${held}: deleting its manifest could remove them` };
  }
  const sharing: string[] = [];
  for (const t of others) if ((await headDigest(client, ref.repository, t)) === held) sharing.push(t);
  if (sharing.length) {
    return { outcome: 'refused', reason: `${where}: tag${sharing.length > 1 ? 's' : ''} ${sharing.slice(0, 5).join(', ')} also point at ${held}; deleting the manifest would remove them` };
  }

  const res = await client.request('DELETE', client.url(`${ref.repository}/manifests/${held}`), { what: `manifest ${ref.repository}@${held}`, ok: [404, 405] });
  if (res.status === 405) {
    const body = await readErrorBody(res);
    return { outcome: 'refused', reason: `${ref.registry.name} does not allow deletes (${describeRefusal(405, body)}; distribution: storage.delete.enabled)` };
  }
  await res.body?.cancel();
  return res.status === 404 ? { outcome: 'absent' } : { outcome: 'deleted', digest: held };
}

async function headDigest(client: RegistryClient, repository: string, reference: string): Promise<string | null> {
  const res = await client.request('HEAD', client.url(`${repository}/manifests/${reference}`), { what: `manifest ${repository}:${reference}`, headers: { accept: MANIFEST_ACCEPT }, ok: [404] });
  await res.body?.cancel();
  if (res.status === 404) return null;
  // Registries that answer HEAD without the digest header: the manifest's bytes say it.
  return res.headers.get('docker-content-digest') ?? (await getManifest(client, repository, reference, { optional: true }))?.digest ?? null;
}

/** Every tag of the repository, up to one past the bound (`tags/list`, paged); null when the repository is gone. */
async function listTags(client: RegistryClient, repository: string): Promise<string[] | null> {
  const tags: string[] = [];
  let url: string | null = client.url(`${repository}/tags/list?n=${PAGE}`);
  while (url && tags.length <= MAX_TAGS_CHECKED + 1) {
    const res: Response = await client.request('GET', url, { what: `tags of ${repository}`, ok: [404] });
    if (res.status === 404) {
      await res.body?.cancel();
      return tags.length ? tags : null;
    }
    const body = (await res.json()) as { tags?: unknown };
    if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
    url = nextLink(res.headers.get('link'), url);
  }
  return tags;
}

/** RFC 5988 `Link: </v2/…?last=x&n=100>; rel="next"`, resolved against the request's URL. */
function nextLink(header: string | null, base: string): string | null {
  const m = header ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(header) : null;
  return m ? new URL(m[1]!, base).toString() : null;
}
