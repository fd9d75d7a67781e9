import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { RegistryPolicy } from './http.ts';
import type { RegistryStorage } from './storage.ts';

/**
 * A small image written straight into a registry's storage, then announced as a push is (ACR fires
 * its triggers, a plain registry notifies): `npm start` shows a real copy with nothing installed to
 * push with. Random layers, so every call is a new image with a new digest.
 */
export interface SampleImage {
  repository: string;
  tag: string;
  digest: string;
  size: number;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function writeSampleImage(
  storage: RegistryStorage,
  policy: RegistryPolicy,
  repository: string,
  tag: string,
  layerBytes: readonly number[] = [256 * 1024, 32 * 1024],
): Promise<SampleImage> {
  const refusal = policy.pushRefusal(repository);
  if (refusal) throw new Error(refusal);
  const put = async (bytes: Buffer, mediaType: string) => {
    const d = digest(bytes);
    const uuid = await storage.createUpload(repository);
    await storage.appendUpload(uuid, Readable.from([bytes]));
    await storage.finishUpload(repository, uuid, d);
    return { mediaType, digest: d, size: bytes.length };
  };
  const layers = [];
  for (const n of layerBytes) layers.push(await put(gzipSync(randomBytes(n)), 'application/vnd.oci.image.layer.v1.tar+gzip'));
  const config = await put(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date().toISOString(), rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} })),
    'application/vnd.oci.image.config.v1+json',
  );
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
  const manifestDigest = digest(bytes);
  await storage.putManifest(repository, { digest: manifestDigest, mediaType: OCI_MANIFEST, bytes }, { tag, descriptor: { mediaType: OCI_MANIFEST, digest: manifestDigest, size: bytes.length } });
  const size = bytes.length + config.size + layers.reduce((n, l) => n + l.size, 0);
  policy.onTag?.(repository, tag, manifestDigest, size);
  return { repository, tag, digest: manifestDigest, size };
}
