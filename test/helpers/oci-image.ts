/**
 * Test images: an OCI image layout on disk with random layers, pushed to a registry by skopeo (so
 * the registry sends its own notifications), and skopeo's word on a pushed image's digest.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OciImage {
  /** The layout directory (skopeo `oci:<dir>:<tag>`). */
  dir: string;
  tag: string;
  manifestDigest: string;
  layers: { digest: string; size: number }[];
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An image of random layers of these sizes (bytes), tagged `tag` in a fresh layout. */
export function buildOciImage(layerSizes: number[], tag = 'latest'): OciImage {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-oci-'));
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return d;
  };
  const layers = layerSizes.map((size) => ({ digest: put(randomBytes(size)), size }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, tag, manifestDigest, layers };
}

/** `skopeo copy` of the layout's image to `host/repository:tag` over plain HTTP. */
export async function pushWithSkopeo(image: OciImage, host: string, repository: string, tag = image.tag): Promise<void> {
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${image.dir}:${image.tag}`, `docker://${host}/${repository}:${tag}`], { timeout: 60_000 });
}

/** The digest skopeo reads for `host/repository:tag`, or null when the registry has no such tag. */
export async function skopeoDigest(host: string, repository: string, tag: string, creds?: string): Promise<string | null> {
  try {
    const auth = creds ? ['--creds', creds] : [];
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', ...auth, '--raw', `docker://${host}/${repository}:${tag}`], { timeout: 30_000, encoding: 'buffer' });
    return sha256(stdout);
  } catch (err) {
    if (/manifest unknown|not found/i.test(String((err as { stderr?: unknown }).stderr ?? ''))) return null;
    throw err;
  }
}
