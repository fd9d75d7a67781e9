/**
 * Random images in an OCI layout on disk (`oci:<dir>:<tag>` for skopeo). Layers are gzip (level 0:
 * stored blocks, so fast and no bigger) of random bytes, written as a stream: a 500 MB layer never sits
 * in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface BuiltDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface BuiltImage {
  dir: string;
  tag: string;
  /** What the tag names: the index for several platforms, else the image manifest. */
  digest: string;
  mediaType: string;
  /** One per platform (one, `linux/amd64`, without `platforms`). */
  manifests: Array<BuiltDescriptor & { platform: string; layers: BuiltDescriptor[]; config: BuiltDescriptor }>;
}

export interface BuildOptions {
  /** Uncompressed size of each layer, per platform. */
  layers: number[];
  /** e.g. `['linux/amd64', 'linux/arm64/v8', 'linux/s390x']`: an OCI index over one image each. */
  platforms?: string[];
  tag?: string;
}

const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function writeBlob(dir: string, bytes: Uint8Array, mediaType: string): BuiltDescriptor {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength };
}

function writeJson(dir: string, value: unknown, mediaType: string): BuiltDescriptor {
  return writeBlob(dir, Buffer.from(JSON.stringify(value)), mediaType);
}

/** A gzip layer of `size` random bytes, streamed to disk; returns its descriptor and diff id. */
async function writeLayer(dir: string, size: number): Promise<{ layer: BuiltDescriptor; diffId: string }> {
  const tmp = join(dir, 'blobs', `tmp-${randomBytes(6).toString('hex')}`);
  const raw = createHash('sha256');
  const compressed = createHash('sha256');
  let left = size;
  let written = 0;
  const source = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1 << 20);
        left -= n;
        const chunk = randomBytes(n);
        raw.update(chunk);
        yield chunk;
      }
    })(),
  );
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      compressed.update(chunk);
      written += chunk.byteLength;
      done(null, chunk);
    },
  });
  await pipeline(source, createGzip({ level: 0 }), count, createWriteStream(tmp));
  const hex = compressed.digest('hex');
  renameSync(tmp, join(dir, 'blobs', 'sha256', hex));
  return { layer: { mediaType: LAYER, digest: `sha256:${hex}`, size: written }, diffId: `sha256:${raw.digest('hex')}` };
}

export async function buildOciImage(dir: string, opts: BuildOptions): Promise<BuiltImage> {
  const tag = opts.tag ?? 'latest';
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: BuiltImage['manifests'] = [];
  for (const platform of opts.platforms ?? ['linux/amd64']) {
    const [os, architecture, variant] = platform.split('/');
    const layers: BuiltDescriptor[] = [];
    const diffIds: string[] = [];
    for (const size of opts.layers) {
      const { layer, diffId } = await writeLayer(dir, size);
      layers.push(layer);
      diffIds.push(diffId);
    }
    const config = writeJson(dir, { architecture, os, ...(variant ? { variant } : {}), created: new Date(0).toISOString(), rootfs: { type: 'layers', diff_ids: diffIds }, config: {} }, CONFIG);
    const manifest = writeJson(dir, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }, OCI_MANIFEST);
    manifests.push({ ...manifest, platform, layers, config });
  }
  const top: BuiltDescriptor = opts.platforms
    ? writeJson(
        dir,
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: manifests.map((m) => {
            const [os, architecture, variant] = m.platform.split('/');
            return { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os, architecture, ...(variant ? { variant } : {}) } };
          }),
        },
        OCI_INDEX,
      )
    : { mediaType: manifests[0]!.mediaType, digest: manifests[0]!.digest, size: manifests[0]!.size };
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { dir, tag, digest: top.digest, mediaType: top.mediaType, manifests };
}
