/** Reading a manifest from the source (verified against its digest) and writing one to the target. */
import { digestOf, isDigest } from './digest.ts';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Manifest, parseManifest } from './manifests.ts';
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

/** PUTs the bytes unchanged under `reference`; the target must answer with the same digest. */
export async function putManifest(client: RegistryClient, repo: string, reference: string, manifest: Manifest): Promise<void> {
  const what = `manifest ${repo}${isDigest(reference) ? '@' : ':'}${reference} (${manifest.mediaType || 'no media type'})`;
  const res = await client.request('PUT', client.url(`${repo}/manifests/${reference}`), {
    what,
    headers: { 'content-type': manifest.mediaType || 'application/octet-stream' },
    body: manifest.bytes,
  });
  await res.body?.cancel();
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored !== manifest.digest) {
    throw new CopyError('DIGEST_MISMATCH', `${what} at ${client.endpoint.name}: the registry stored it as ${stored}, not ${manifest.digest} (it rewrote the manifest)`, false);
  }
}
