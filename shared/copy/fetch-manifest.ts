/** Reading a manifest from the source (verified against its digest) and writing one to the target. */
import { digestOf, isDigest } from './digest.ts';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Manifest, parseManifest } from './manifests.ts';
import { describeRefusal, readErrorBody, type RegistryErrorBody, refusalFrom } from './errors.ts';
import type { RegistryClient } from './registry-client.ts';
import { CopyError } from './types.ts';

/** `reference` is a tag or a digest; by digest (or with `expected`) the bytes must hash to it. Null on 404 when `optional`. */
export async function getManifest(client: RegistryClient, repo: string, reference: string, opts: { expected?: string | undefined; optional?: boolean } = {}): Promise<Manifest | null> {
  const what = `manifest ${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
  const res = await client.request('GET', client.url(`${repo}/manifests/${reference}`), { what, headers: { accept: MANIFEST_ACCEPT }, pull: true, ok: opts.optional ? [404] : [] });
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    await res.body?.cancel();
    throw new CopyError('MANIFEST_INVALID', `${what} at ${client.endpoint.name}: ${declared} bytes, more than a manifest may have`, false);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const expected = opts.expected ?? (isDigest(reference) ? reference : (res.headers.get('docker-content-digest') ?? undefined));
  const digest = digestOf(bytes, expected && isDigest(expected) ? expected : 'sha256:');
  if (expected && isDigest(expected) && digest !== expected) {
    throw new CopyError('DIGEST_MISMATCH', `${what} at ${client.endpoint.name}: its bytes hash to ${digest}, expected ${expected}`, false);
  }
  return parseManifest(bytes, res.headers.get('content-type'), digest, `${what} at ${client.endpoint.name}`);
}

/** What the target answered to a manifest PUT. */
export interface PutAnswer {
  /** `OCI-Subject`: the registry indexed the manifest's `subject` (it has the referrers API). */
  ociSubject: string | null;
}

/** Registry codes with which distribution-like registries refuse a media type they do not take. */
const TYPE_REFUSALS = new Set(['MANIFEST_INVALID', 'UNSUPPORTED']);

/** PUTs the bytes unchanged under `reference`; the target must answer with the same digest. */
export async function putManifest(client: RegistryClient, repo: string, reference: string, manifest: Manifest): Promise<PutAnswer> {
  const what = `manifest ${repo}${isDigest(reference) ? '@' : ':'}${reference} (${manifest.mediaType || 'no media type'})`;
  const res = await client.request('PUT', client.url(`${repo}/manifests/${reference}`), {
    what,
    headers: { 'content-type': manifest.mediaType || 'application/octet-stream' },
    body: manifest.bytes,
    ok: manifest.kind === 'other' ? [400, 415] : [],
  });
  if (res.status === 400 || res.status === 415) throw unknownTypeRefused(client, what, manifest, res.status, await readErrorBody(res));
  await res.body?.cancel();
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== manifest.digest) {
    throw new CopyError('DIGEST_MISMATCH', `${what} at ${client.endpoint.name}: the registry stored it as ${stored}, not ${manifest.digest} (it rewrote the manifest)`, false);
  }
  return { ociSubject: res.headers.get('oci-subject') };
}

/**
 * A manifest type Ferry does not know, refused: registries say so with a bare 400 MANIFEST_INVALID
 * (distribution 2.8: "manifest invalid") or 415, which reads like a broken manifest; name the type.
 */
function unknownTypeRefused(client: RegistryClient, what: string, manifest: Manifest, status: number, body: RegistryErrorBody): CopyError {
  if (status !== 415 && body.code !== null && !TYPE_REFUSALS.has(body.code)) return refusalFrom(status, body, `${what} at ${client.endpoint.name}`);
  return new CopyError(
    'UNSUPPORTED',
    `${what} at ${client.endpoint.name}: the registry does not accept manifests of media type ${manifest.mediaType || '(none)'}, which Ferry copies as-is (${describeRefusal(status, body)})`,
    false,
    status,
  );
}
