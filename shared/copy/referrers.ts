/**
 * What refers to a manifest: the OCI 1.1 referrers API (else the referrers tag schema `sha256-<hex>`),
 * and cosign's `sha256-<hex>.sig/.att/.sbom` tags.
 */
import { getManifest } from './fetch-manifest.ts';
import { type Descriptor, type Manifest, OCI_INDEX, parseManifest } from './manifests.ts';
import { digestOf } from './digest.ts';
import type { RegistryClient } from './registry-client.ts';

export interface Referrers {
  /** Referrer manifests (each copied by digest). */
  manifests: Descriptor[];
  /** Tags to write at the target, with what they hold: the tag schema index, cosign's tags. */
  tags: Array<{ tag: string; manifest: Manifest }>;
}

const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

export function tagSchemaTag(digest: string): string {
  return digest.replace(':', '-');
}

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
  const found: Referrers = { manifests: [], tags: [] };
  const api = await fromApi(client, repo, digest);
  if (api) found.manifests.push(...api);
  else {
    const index = await getManifest(client, repo, tagSchemaTag(digest), { optional: true });
    if (index?.kind === 'index') {
      found.manifests.push(...index.manifests);
      found.tags.push({ tag: tagSchemaTag(digest), manifest: index });
    }
  }
  for (const suffix of COSIGN_SUFFIXES) {
    const tag = `${tagSchemaTag(digest)}.${suffix}`;
    const manifest = await getManifest(client, repo, tag, { optional: true });
    if (manifest) found.tags.push({ tag, manifest });
  }
  return found;
}
