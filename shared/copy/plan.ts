/** Everything a copy writes, read from the source first: blobs, and manifests in the order they must be written (children first). */
import { getManifest } from './fetch-manifest.ts';
import type { Descriptor, Manifest } from './manifests.ts';
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
      for (const child of manifest.manifests) {
        if (this.seen.has(child.digest)) continue;
        const fetched = await getManifest(this.src, this.repo, child.digest, { expected: child.digest });
        await this.add(fetched!, into);
      }
    } else if (manifest.kind === 'image') {
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
