/** Everything a copy writes, read from the source first: blobs, and manifests in the order they must be written (children first). */
import { getManifest } from './fetch-manifest.ts';
import type { Descriptor, Manifest } from './manifests.ts';
import { forEachLimit } from './pool.ts';
import type { RegistryClient } from './registry-client.ts';

export class Plan {
  readonly blobs = new Map<string, Descriptor>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly src: RegistryClient,
    private readonly repo: string,
  ) {}

  /** Adds what `manifest` references (child manifests fetched by digest, recursively) to `into`, children first, then `manifest` itself unless `self` is false. */
  async add(manifest: Manifest, into: Manifest[], self = true): Promise<void> {
    if (self && this.seen.has(manifest.digest)) return;
    if (self) this.seen.add(manifest.digest);
    if (manifest.kind === 'index') {
      // Fetched together, added in the index's order (the order they are written in).
      const wanted = manifest.manifests.filter((c) => !this.seen.has(c.digest));
      const fetched: (Manifest | null)[] = [];
      await forEachLimit(
        wanted.map((c, i) => ({ c, i })),
        8,
        async ({ c, i }) => {
          fetched[i] = await getManifest(this.src, this.repo, c.digest, { expected: c.digest });
        },
      );
      for (const m of fetched) await this.add(m!, into);
    } else {
      for (const blob of manifest.blobs) if (!this.blobs.has(blob.digest)) this.blobs.set(blob.digest, blob);
    }
    if (self) into.push(manifest);
  }

  /** Fetches a manifest by digest and adds it (for referrers). */
  async addByDigest(descriptor: Descriptor, into: Manifest[]): Promise<void> {
    if (this.seen.has(descriptor.digest)) return;
    const fetched = await getManifest(this.src, this.repo, descriptor.digest, { expected: descriptor.digest });
    await this.add(fetched!, into);
  }
}
