/**
 * The copy: read the source's manifests (verified), copy the blobs they reference (bounded
 * parallelism), write child manifests by digest, referrers, and the tag last. A copy that fails,
 * pauses or is cancelled never writes the tag.
 */
import { BlobCopier, type UploadSession } from './blobs.ts';
import { getManifest, putManifest } from './fetch-manifest.ts';
import { nodeFetch } from './node-transport.ts';
import { filterIndex, type Manifest, MANIFEST_ACCEPT } from './manifests.ts';
import { Plan } from './plan.ts';
import { forEachLimit } from './pool.ts';
import { StopSignal } from './stop.ts';
import { findReferrers } from './referrers.ts';
import { referrerOf, ReferrersTags } from './referrers-tag.ts';
import { type ClientContext, RegistryClient } from './registry-client.ts';
import { CopyError, type CopyCheckpoint, type CopyHooks, type CopyOptions, type CopyProgress, type CopyResult, type ImageRef } from './types.ts';

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

/** A registry client's context from copy options: the engine's, and the listing's (catalog.ts). */
export function context(opts: CopyOptions): ClientContext {
  return {
    fetch: opts.fetch ?? nodeFetch,
    now: opts.now ?? Date.now,
    sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    stats: { requests: 0 },
  };
}

function reference(ref: ImageRef, pinned?: string): string {
  const r = ref.digest ?? pinned ?? ref.tag;
  if (!r) throw new CopyError('MANIFEST_UNKNOWN', `${ref.registry.name}/${ref.repository}: neither a tag nor a digest to copy`, false);
  return r;
}

class Copy {
  private readonly ctx: ClientContext;
  private readonly src: RegistryClient;
  private readonly dst: RegistryClient;
  private readonly done: Set<string>;
  private readonly state: CopyCheckpoint;
  private stopping: 'slice' | 'cancel' | null = null;
  private saving: Promise<void> = Promise.resolve();
  private manifests = 0;
  private referrers = 0;
  private readonly blobSizes = new Map<string, number>();
  private readonly tagSchema: ReferrersTags;
  private progressNow: CopyProgress = { phase: 'resolve', bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0 };

  constructor(
    private readonly from: ImageRef,
    private readonly to: ImageRef,
    private readonly opts: CopyOptions,
    private readonly hooks: CopyHooks,
    resume: CopyCheckpoint | undefined,
  ) {
    this.ctx = context(opts);
    const mountFrom = this.mountFrom();
    this.src = new RegistryClient(from.registry, [`repository:${from.repository}:pull`], this.ctx);
    this.dst = new RegistryClient(to.registry, [`repository:${to.repository}:pull,push`, ...(mountFrom ? [`repository:${mountFrom}:pull`] : [])], this.ctx);
    this.state = resume ? structuredClone(resume) : { done: [], uploads: [], bytesCopied: 0, blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0 };
    this.done = new Set(this.state.done);
    this.tagSchema = new ReferrersTags(this.dst, to.repository);
  }

  private mountFrom(): string | null {
    const same = this.from.registry.url.replace(/\/+$/, '') === this.to.registry.url.replace(/\/+$/, '');
    return same && this.from.repository !== this.to.repository ? this.from.repository : null;
  }

  checkpoint(): CopyCheckpoint {
    return structuredClone({ ...this.state, done: [...this.done] });
  }

  private async save(): Promise<void> {
    const hook = this.hooks.checkpoint;
    if (!hook) return;
    const snapshot = this.checkpoint();
    this.saving = this.saving.then(() => hook.call(this.hooks, snapshot));
    await this.saving;
  }

  private checkStop(): void {
    if (this.stopping) throw new StopSignal(this.stopping);
    const asked = this.hooks.shouldStop?.() ?? null;
    if (asked) {
      this.stopping = asked;
      throw new StopSignal(asked);
    }
  }

  private progress(change: Partial<CopyProgress>): void {
    this.progressNow = { ...this.progressNow, ...change };
    this.hooks.progress?.({ ...this.progressNow });
  }

  async run(): Promise<CopyResult> {
    const src = this.from;
    const rootRef = reference(src, this.state.sourceDigest);
    const root = (await getManifest(this.src, src.repository, rootRef, { expected: src.digest ?? this.state.sourceDigest }))!;
    this.state.sourceDigest = root.digest;
    const target = this.opts.platforms?.length && root.kind === 'index' ? filterIndex(root, this.opts.platforms, `manifest ${src.repository}@${root.digest}`) : root;

    const plan = new Plan(this.src, src.repository);
    const children: Manifest[] = [];
    await plan.add(target, children, false);
    const referrerManifests: Manifest[] = [];
    const referrerTags: Array<{ tag: string; manifest: Manifest }> = [];
    const referrerIndexes: Array<{ subject: string; index: Extract<Manifest, { kind: 'index' }> }> = [];
    if (this.opts.referrers) {
      // A filtered index is a new manifest: nothing at the source refers to it, only to its children.
      const subjects = [...(target === root ? [root.digest] : []), ...children.map((m) => m.digest)];
      for (const subject of subjects) {
        const found = await findReferrers(this.src, src.repository, subject);
        for (const d of found.manifests) await plan.addByDigest(d, referrerManifests);
        if (found.index) referrerIndexes.push({ subject, index: found.index });
        for (const t of found.tags) {
          await plan.add(t.manifest, referrerManifests, false);
          referrerTags.push(t);
        }
      }
    }

    const blobs = [...plan.blobs.values()];
    for (const b of blobs) this.blobSizes.set(b.digest, b.size);
    this.progress({ phase: 'blobs', bytesTotal: blobs.reduce((n, b) => n + b.size, 0), blobsTotal: blobs.length });
    const copier = new BlobCopier(
      this.src,
      this.dst,
      { srcRepo: src.repository, dstRepo: this.to.repository, mountFrom: this.mountFrom(), chunkBytes: this.opts.chunkBytes ?? DEFAULT_CHUNK_BYTES },
      this.blobEvents(),
    );
    await forEachLimit(blobs, this.opts.concurrency ?? DEFAULT_CONCURRENCY, async (blob) => {
      this.checkStop();
      await copier.copy(blob);
    });
    this.checkStop();

    this.progress({ phase: 'manifests' });
    // Image manifests are independent of each other: written together; an index after what it lists.
    await forEachLimit(
      children.filter((m) => m.kind !== 'index'),
      this.opts.concurrency ?? DEFAULT_CONCURRENCY,
      (m) => this.put(m, m.digest),
    );
    for (const m of children) if (m.kind === 'index') await this.put(m, m.digest);
    if (referrerManifests.length || referrerTags.length || referrerIndexes.length) {
      this.progress({ phase: 'referrers' });
      // The subject first, by digest: registries that index referrers find it there.
      await this.put(target, target.digest);
      for (const m of referrerManifests) {
        await this.put(m, m.digest);
        this.referrers++;
      }
      for (const t of referrerTags) {
        await this.write(t.manifest, t.tag);
        this.manifests++;
        this.referrers++;
      }
      for (const r of referrerIndexes) this.tagSchema.addSourceIndex(r.subject, r.index);
    } else if (referrerOf(target)) {
      // The image is itself a referrer: by digest first, so its subject's list is written before the tag.
      await this.put(target, target.digest);
    }
    const lists = await this.tagSchema.write();
    this.manifests += lists;
    this.referrers += lists;
    this.checkStop();

    this.progress({ phase: 'tag' });
    await putManifest(this.dst, this.to.repository, this.to.tag ?? src.tag ?? target.digest, target);
    this.manifests++;
    const s = this.state;
    return {
      status: 'done',
      sourceDigest: root.digest,
      targetDigest: target.digest,
      stats: {
        bytesCopied: s.bytesCopied,
        blobsCopied: s.blobsCopied,
        blobsSkipped: s.blobsSkipped,
        blobsMounted: s.blobsMounted,
        manifests: this.manifests,
        referrers: this.referrers,
        requests: this.ctx.stats.requests,
      },
    };
  }

  /** By digest, once; a manifest with a subject is written again on resume, its referrers list may still be due. */
  private async put(m: Manifest, ref: string): Promise<void> {
    if (this.done.has(m.digest) && !referrerOf(m)) return;
    await this.write(m, ref);
    this.done.add(m.digest);
    this.manifests++;
  }

  /** A target that does not answer `OCI-Subject` has no referrers API: the copy keeps the tag schema there. */
  private async write(m: Manifest, ref: string): Promise<void> {
    const answer = await putManifest(this.dst, this.to.repository, ref, m);
    const referrer = answer.ociSubject ? null : referrerOf(m);
    if (referrer) this.tagSchema.add(referrer);
  }

  private blobEvents() {
    const uploads = this.state.uploads;
    const forget = (digest: string) => {
      const i = uploads.findIndex((u) => u.digest === digest);
      if (i >= 0) uploads.splice(i, 1);
    };
    const sentInChunks = new Map<string, number>();
    return {
      isDone: (digest: string) => this.done.has(digest),
      resumable: (digest: string): UploadSession | undefined => uploads.find((u) => u.digest === digest),
      chunk: async (digest: string, session: UploadSession, bytes: number) => {
        forget(digest);
        uploads.push({ digest, location: session.location, offset: session.offset });
        this.state.bytesCopied += bytes;
        sentInChunks.set(digest, (sentInChunks.get(digest) ?? 0) + bytes);
        this.progress({ bytesDone: this.progressNow.bytesDone + bytes });
        await this.save();
      },
      finished: async (digest: string, how: 'copied' | 'skipped' | 'mounted', bytes: number) => {
        forget(digest);
        this.done.add(digest);
        const s = this.state;
        if (how === 'copied') {
          s.blobsCopied++;
          // Chunks were counted as they went.
          s.bytesCopied += bytes - (sentInChunks.get(digest) ?? 0);
        } else if (how === 'skipped') s.blobsSkipped++;
        else s.blobsMounted++;
        const size = (this.blobSizes.get(digest) ?? 0) - (sentInChunks.get(digest) ?? 0);
        this.progress({ bytesDone: this.progressNow.bytesDone + size, blobsDone: this.progressNow.blobsDone + 1 });
        await this.save();
      },
      checkStop: () => this.checkStop(),
    };
  }
}

/** Copies `src` to `dst` (see the contract in types.ts). Pass the last checkpoint as `resume` to continue a paused or failed copy. */
export async function copyImage(src: ImageRef, dst: ImageRef, opts: CopyOptions = {}, hooks: CopyHooks = {}, resume?: CopyCheckpoint): Promise<CopyResult> {
  const copy = new Copy(src, dst, opts, hooks, resume);
  try {
    return await copy.run();
  } catch (e) {
    if (e instanceof StopSignal) return { status: e.kind === 'cancel' ? 'canceled' : 'paused', checkpoint: copy.checkpoint() };
    throw e;
  }
}

/** The digest a tag (or digest) names at a registry, null when there is no such manifest. */
export async function resolveDigest(ref: ImageRef, opts: CopyOptions = {}): Promise<string | null> {
  const client = new RegistryClient(ref.registry, [`repository:${ref.repository}:pull`], context(opts));
  const r = reference(ref);
  const res = await client.request('HEAD', client.url(`${ref.repository}/manifests/${r}`), { what: `manifest ${ref.repository}:${r}`, headers: { accept: MANIFEST_ACCEPT }, ok: [404] });
  await res.body?.cancel();
  if (res.status === 404) return null;
  const header = res.headers.get('docker-content-digest');
  if (header) return header;
  return (await getManifest(client, ref.repository, r, { optional: true }))?.digest ?? null;
}
