/**
 * What refers to a manifest: the OCI 1.1 referrers API (else the referrers tag schema `<alg>-<hex>`),
 * and cosign's `sha256-<hex>.sig/.att/.sbom` tags.
 */
import { digestOf } from './digest.ts';
import { getManifest } from './fetch-manifest.ts';
import { type Descriptor, type Manifest, OCI_INDEX, parseManifest } from './manifests.ts';
import { referrersTag } from './referrers-tag.ts';
import type { RegistryClient } from './registry-client.ts';

export interface Referrers {
  /** Referrer manifests (each copied by digest). */
  manifests: Descriptor[];
  /** The source's referrers list under the tag schema (it has no API), merged into the target's. */
  index: Extract<Manifest, { kind: 'index' }> | null;
  /** cosign's tags, written at the target as they are. */
  tags: Array<{ tag: string; manifest: Manifest }>;
}

const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

/** The referrers API's answer, null when the source does not have the API (404, or not an index). */
async function fromApi(client: RegistryClient, repo: string, digest: string): Promise<Descriptor[] | null> {
  const res = await client.request('GET', client.url(`${repo}/referrers/${digest}`), { what: `referrers of ${digest}`, headers: { accept: OCI_INDEX }, ok: [400, 404, 405, 406] });
  if (res.status !== 200) {
    await res.body?.cancel();
    return null;
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  try {
    const index = parseManifest(bytes, res.headers.get('content-type'), digestOf(bytes), `referrers of ${digest}`);
    return index.kind === 'index' ? index.manifests : null;
  } catch {
    return null;
  }
}

export async function findReferrers(client: RegistryClient, repo: string, digest: string): Promise<Referrers> {
  const found: Referrers = { manifests: [], index: null, tags: [] };
  const api = await fromApi(client, repo, digest);
  if (api) found.manifests.push(...api);
  else {
    const index = await getManifest(client, repo, referrersTag(digest), { optional: true });
    if (index?.kind === 'index') {
      found.manifests.push(...index.manifests);
      found.index = index;
    }
  }
  for (const suffix of COSIGN_SUFFIXES) {
    // cosign's own naming: the whole digest, `:` replaced, never truncated.
    const tag = `${digest.replace(':', '-')}.${suffix}`;
    const manifest = await getManifest(client, repo, tag, { optional: true });
    if (manifest) found.tags.push({ tag, manifest });
  }
  return found;
}
