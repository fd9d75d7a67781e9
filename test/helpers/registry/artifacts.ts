/**
 * Small artifacts pushed over plain HTTP (monolithic uploads): cosign-style signature tags and OCI 1.1
 * referrers with the referrers tag schema index, as a registry without the referrers API keeps them.
 */
import { createHash } from 'node:crypto';
import type { Creds } from './skopeo.ts';

export interface Pushed {
  mediaType: string;
  digest: string;
  size: number;
}

const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function headers(creds?: Creds): Record<string, string> {
  return creds ? { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function pushBlob(url: string, repo: string, bytes: Uint8Array, mediaType: string, creds?: Creds): Promise<Pushed> {
  const digest = sha256(bytes);
  const post = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers(creds) });
  if (post.status !== 202) throw new Error(`upload start: ${post.status} ${await post.text()}`);
  const location = new URL(post.headers.get('location')!, url).toString();
  const put = await fetch(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
    method: 'PUT',
    headers: { ...headers(creds), 'content-type': 'application/octet-stream' },
    body: bytes as BodyInit,
  });
  if (put.status !== 201) throw new Error(`blob PUT: ${put.status} ${await put.text()}`);
  return { mediaType, digest, size: bytes.byteLength };
}

/** PUTs a manifest under `reference` (a tag; by its digest when null). */
export async function pushManifest(url: string, repo: string, reference: string | null, manifest: object, mediaType: string, creds?: Creds): Promise<Pushed> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference ?? sha256(bytes)}`, { method: 'PUT', headers: { ...headers(creds), 'content-type': mediaType }, body: bytes as BodyInit });
  if (res.status !== 201) throw new Error(`manifest PUT ${reference}: ${res.status} ${await res.text()}`);
  return { mediaType, digest: sha256(bytes), size: bytes.byteLength };
}

/** An OCI manifest with one small layer and the empty config. */
async function smallManifest(url: string, repo: string, reference: string | null, layerType: string, payload: string, extra: object, creds?: Creds): Promise<Pushed> {
  const config = await pushBlob(url, repo, Buffer.from('{}'), EMPTY_CONFIG, creds);
  const layer = await pushBlob(url, repo, Buffer.from(payload), layerType, creds);
  return pushManifest(url, repo, reference, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra }, OCI_MANIFEST, creds);
}

/** A cosign-style signature: tag `sha256-<hex>.sig` (or `.att`, `.sbom`) next to the signed manifest. */
export async function pushSignatureTag(url: string, repo: string, subjectDigest: string, suffix: 'sig' | 'att' | 'sbom' = 'sig', creds?: Creds): Promise<Pushed & { tag: string }> {
  const tag = `${subjectDigest.replace(':', '-')}.${suffix}`;
  const payload = JSON.stringify({ critical: { image: { 'docker-manifest-digest': subjectDigest }, type: 'cosign container image signature' } });
  const pushed = await smallManifest(url, repo, tag, 'application/vnd.dev.cosign.simplesigning.v1+json', payload, {}, creds);
  return { ...pushed, tag };
}

/**
 * An OCI 1.1 referrer of `subject` (an artifact manifest with `subject`), listed in the referrers tag
 * schema index `sha256-<hex>` the way clients maintain it for registries without the referrers API.
 */
export async function pushReferrer(url: string, repo: string, subject: Pushed, artifactType: string, creds?: Creds): Promise<Pushed & { tag: string }> {
  const referrer = await smallManifest(url, repo, null, 'application/vnd.example.sbom+json', JSON.stringify({ sbom: subject.digest }), { artifactType, subject }, creds);
  const tag = subject.digest.replace(':', '-');
  const existing = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { ...headers(creds), accept: OCI_INDEX } });
  const manifests: object[] = existing.ok ? ((await existing.json()) as { manifests: object[] }).manifests : [];
  manifests.push({ ...referrer, artifactType });
  await pushManifest(url, repo, tag, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX, creds);
  return { ...referrer, tag };
}
