import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestOfFile, splitDigest } from './digest.ts';
import { OciError } from './errors.ts';

/**
 * One registry's content on disk, laid out like CNCF distribution's filesystem driver:
 *   blobs/<alg>/<hex>                               content (layers, configs, manifest bytes)
 *   uploads/<uuid>, uploads/<uuid>.json             a session's bytes so far and its repository
 *   repos/<name>/_layers/<alg>/<hex>                the blob is in this repository
 *   repos/<name>/_manifests/revisions/<alg>/<hex>   a manifest of this repository: {mediaType}
 *   repos/<name>/_manifests/tags/<tag>              the digest the tag points at
 *   repos/<name>/_referrers/<alg>-<hex>/<alg>-<hex> descriptor of a manifest whose subject is the first digest
 * Repository names start with a letter or digit, so they never collide with the `_` folders.
 * The root is resolved on first use: `npm start` knows its data directory only after the
 * local cloud is listening.
 */
export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function touch(path: string, content: string | Buffer = ''): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

export class RegistryStorage {
  constructor(private readonly root: () => string) {}

  private blobPath(digest: string): string {
    const { alg, hex } = splitDigest(digest);
    return join(this.root(), 'blobs', alg, hex);
  }

  private repoPath(name: string, ...rest: string[]): string {
    return join(this.root(), 'repos', ...name.split('/'), ...rest);
  }

  private layerLink(name: string, digest: string): string {
    const { alg, hex } = splitDigest(digest);
    return this.repoPath(name, '_layers', alg, hex);
  }

  private revisionLink(name: string, digest: string): string {
    const { alg, hex } = splitDigest(digest);
    return this.repoPath(name, '_manifests', 'revisions', alg, hex);
  }

  private tagLink(name: string, tag: string): string {
    return this.repoPath(name, '_manifests', 'tags', tag);
  }

  private uploadPath(uuid: string): string {
    return join(this.root(), 'uploads', uuid);
  }

  async repoExists(name: string): Promise<boolean> {
    return exists(this.repoPath(name, '_manifests')).then(async (m) => m || exists(this.repoPath(name, '_layers')));
  }

  // ---------- blobs ----------

  /** Size of a blob of this repository, or null when the repository does not have it. */
  async blobSize(name: string, digest: string): Promise<number | null> {
    if (!(await exists(this.layerLink(name, digest)))) return null;
    return sizeOf(this.blobPath(digest));
  }

  openBlob(digest: string): ReadStream {
    return createReadStream(this.blobPath(digest));
  }

  async linkBlob(name: string, digest: string): Promise<void> {
    await touch(this.layerLink(name, digest));
  }

  // ---------- upload sessions ----------

  async createUpload(name: string): Promise<string> {
    const uuid = randomUUID();
    await touch(`${this.uploadPath(uuid)}.json`, JSON.stringify({ name }));
    await touch(this.uploadPath(uuid));
    return uuid;
  }

  /** Bytes received so far, or null when there is no such session for this repository. */
  async uploadSize(name: string, uuid: string): Promise<number | null> {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) return null;
    try {
      const meta = JSON.parse(await readFile(`${this.uploadPath(uuid)}.json`, 'utf8')) as { name?: unknown };
      if (meta.name !== name) return null;
    } catch {
      return null;
    }
    return sizeOf(this.uploadPath(uuid));
  }

  /** Appends a request body to the session, streamed. Returns the new size. */
  async appendUpload(uuid: string, body: Readable): Promise<number> {
    await pipeline(body, createWriteStream(this.uploadPath(uuid), { flags: 'a' }));
    return (await sizeOf(this.uploadPath(uuid))) ?? 0;
  }

  /** Checks the session's bytes against `digest`, then makes them the repository's blob; the session ends either way. */
  async finishUpload(name: string, uuid: string, digest: string): Promise<number> {
    const path = this.uploadPath(uuid);
    try {
      const actual = await digestOfFile(path, splitDigest(digest).alg);
      if (actual !== digest) throw new OciError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual });
      const target = this.blobPath(digest);
      await mkdir(dirname(target), { recursive: true });
      await rename(path, target);
      await this.linkBlob(name, digest);
      return (await sizeOf(target)) ?? 0;
    } finally {
      await this.deleteUpload(uuid);
    }
  }

  async deleteUpload(uuid: string): Promise<void> {
    await rm(this.uploadPath(uuid), { force: true });
    await rm(`${this.uploadPath(uuid)}.json`, { force: true });
  }

  // ---------- manifests and tags ----------

  async putManifest(name: string, m: StoredManifest, opts: { tag?: string | undefined; subject?: string | undefined; descriptor: Descriptor }): Promise<void> {
    const blob = this.blobPath(m.digest);
    if (!(await exists(blob))) await touch(blob, m.bytes);
    await touch(this.revisionLink(name, m.digest), JSON.stringify({ mediaType: m.mediaType }));
    if (opts.subject) {
      const s = splitDigest(opts.subject);
      const d = splitDigest(m.digest);
      await touch(this.repoPath(name, '_referrers', `${s.alg}-${s.hex}`, `${d.alg}-${d.hex}`), JSON.stringify(opts.descriptor));
    }
    if (opts.tag !== undefined) await touch(this.tagLink(name, opts.tag), m.digest);
  }

  /** The digest a tag points at, or the digest itself when the repository has that manifest. */
  async resolve(name: string, reference: string, isDigest: boolean): Promise<string | null> {
    if (isDigest) return (await exists(this.revisionLink(name, reference))) ? reference : null;
    try {
      return (await readFile(this.tagLink(name, reference), 'utf8')).trim();
    } catch {
      return null;
    }
  }

  async getManifest(name: string, digest: string): Promise<StoredManifest | null> {
    try {
      const { mediaType } = JSON.parse(await readFile(this.revisionLink(name, digest), 'utf8')) as { mediaType: string };
      return { digest, mediaType, bytes: await readFile(this.blobPath(digest)) };
    } catch {
      return null;
    }
  }

  async hasManifest(name: string, digest: string): Promise<boolean> {
    return exists(this.revisionLink(name, digest));
  }

  /** Deletes a manifest and every tag pointing at it; false when the repository has no such manifest. */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    if (!(await exists(this.revisionLink(name, digest)))) return false;
    await rm(this.revisionLink(name, digest), { force: true });
    for (const tag of await this.tags(name)) {
      if ((await this.resolve(name, tag, false)) === digest) await rm(this.tagLink(name, tag), { force: true });
    }
    const referrers = this.repoPath(name, '_referrers');
    const d = splitDigest(digest);
    for (const subject of await readdir(referrers).catch(() => [] as string[])) await rm(join(referrers, subject, `${d.alg}-${d.hex}`), { force: true });
    return true;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    if (!(await exists(this.tagLink(name, tag)))) return false;
    await rm(this.tagLink(name, tag), { force: true });
    return true;
  }

  /** Tags in lexical order. */
  async tags(name: string): Promise<string[]> {
    const all = await readdir(this.repoPath(name, '_manifests', 'tags')).catch(() => [] as string[]);
    return all.sort();
  }

  async referrers(name: string, subject: string): Promise<Descriptor[]> {
    const s = splitDigest(subject);
    const dir = this.repoPath(name, '_referrers', `${s.alg}-${s.hex}`);
    const files = (await readdir(dir).catch(() => [] as string[])).sort();
    return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as Descriptor));
  }

  /** Forgets everything (the local cloud's reset). */
  wipe(): void {
    rmSync(this.root(), { recursive: true, force: true });
  }
}
