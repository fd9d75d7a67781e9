/**
 * One blob from source to target: skipped when the target has it, mounted from a sibling repository of
 * the same registry, else streamed: one PUT below `chunkBytes`, PATCH chunks (checkpointed, resumable)
 * from there on.
 */
import { BlobReader } from './blob-reader.ts';
import { DigestVerifier } from './digest.ts';
import type { Descriptor } from './manifests.ts';
import type { RegistryClient } from './registry-client.ts';
import { StopSignal } from './stop.ts';
import { CopyError } from './types.ts';

export interface UploadSession {
  location: string;
  /** Bytes the target holds. */
  offset: number;
}

/** What a blob copy reports to (and asks of) the copy it belongs to. */
export interface BlobEvents {
  /** In the checkpoint's `done`: at the target, no need to ask. */
  isDone(digest: string): boolean;
  /** A session recorded by an earlier slice. */
  resumable(digest: string): UploadSession | undefined;
  /** A chunk went through (`bytes` more at the target); persisted before the next one. */
  chunk(digest: string, session: UploadSession, bytes: number): Promise<void>;
  finished(digest: string, how: 'copied' | 'skipped' | 'mounted', bytes: number): Promise<void>;
  /** Throws the stop signal when the copy is to end here. */
  checkStop(): void;
}

export interface BlobCopyOptions {
  srcRepo: string;
  dstRepo: string;
  /** The source repository, when it is on the target's registry (mount instead of copying). */
  mountFrom: string | null;
  chunkBytes: number;
}

const ATTEMPTS = 3;

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

export class BlobCopier {
  constructor(
    private readonly src: RegistryClient,
    private readonly dst: RegistryClient,
    private readonly opts: BlobCopyOptions,
    private readonly events: BlobEvents,
  ) {}

  async copy(blob: Descriptor): Promise<void> {
    const { digest } = blob;
    if (this.events.isDone(digest)) return;
    const recorded = this.events.resumable(digest);
    let session = recorded ? await this.status(recorded.location, digest) : null;
    if (!session) {
      if (await this.exists(digest)) return this.events.finished(digest, 'skipped', 0);
      if (this.opts.mountFrom) {
        const mounted = await this.mount(digest, this.opts.mountFrom);
        if (mounted === 'mounted') return this.events.finished(digest, 'mounted', 0);
        session = mounted;
      }
    }
    for (let attempt = 1; ; attempt++) {
      session ??= await this.open(digest);
      try {
        const sent = await this.upload(blob, session);
        return this.events.finished(digest, 'copied', sent);
      } catch (e) {
        if (!(e instanceof CopyError) || !e.retryable || attempt >= ATTEMPTS) throw e;
        // Ask the target how far it got; a session it lost (or cancelled) means starting over.
        session = await this.status(session.location, digest);
      }
    }
  }

  private async exists(digest: string): Promise<boolean> {
    const res = await this.dst.request('HEAD', this.dst.url(`${this.opts.dstRepo}/blobs/${digest}`), { what: `blob ${digest}`, ok: [404] });
    return res.status === 200;
  }

  private async mount(digest: string, from: string): Promise<'mounted' | UploadSession> {
    const url = this.dst.url(`${this.opts.dstRepo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`);
    const res = await this.dst.request('POST', url, { what: `mount of ${digest} from ${from} into ${this.opts.dstRepo}` });
    await res.body?.cancel();
    if (res.status === 201) return 'mounted';
    return this.sessionFrom(res, url, 0);
  }

  private async open(digest: string): Promise<UploadSession> {
    const url = this.dst.url(`${this.opts.dstRepo}/blobs/uploads/`);
    const res = await this.dst.request('POST', url, { what: `upload of ${digest} to ${this.opts.dstRepo}` });
    await res.body?.cancel();
    return this.sessionFrom(res, url, 0);
  }

  /** The target's view of a session (`Range: 0-<last>`), null when it no longer exists. */
  private async status(location: string, digest: string): Promise<UploadSession | null> {
    const res = await this.dst.request('GET', location, { what: `upload status of ${digest}`, ok: [400, 404, 416] });
    await res.body?.cancel();
    if (res.status !== 204 && res.status !== 200) return null;
    return this.sessionFrom(res, location, null);
  }

  private sessionFrom(res: Response, requestUrl: string, offset: number | null): UploadSession {
    const location = res.headers.get('location');
    if (!location) throw new CopyError('TRANSIENT', `${this.dst.endpoint.name} opened an upload without a Location`, true, res.status);
    const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '');
    return { location: new URL(location, requestUrl).toString(), offset: offset ?? (range ? Number(range[1]) + 1 : 0) };
  }

  /** Sends the blob from `session.offset` on; returns the bytes sent. `session` follows every chunk. */
  private async upload(blob: Descriptor, session: UploadSession): Promise<number> {
    const { digest, size } = blob;
    const what = `blob ${digest}`;
    const res = await this.src.request('GET', this.src.url(`${this.opts.srcRepo}/blobs/${digest}`), { what });
    if (!res.body) throw new CopyError('TRANSIENT', `${what}: the source answered without a body`, true);
    const reader = new BlobReader(res.body, new DigestVerifier(digest, size, `blob from ${this.src.endpoint.name}/${this.opts.srcRepo}`));
    const start = session.offset;
    try {
      // A resumed upload re-reads the source from the start rather than a Range GET from the offset: the
      // digest is then checked over every byte the target will hold, not only over the ones sent now.
      await reader.skip(start);
      if (start === 0 && size < this.opts.chunkBytes) {
        await this.finish(session, digest, reader.take(size), size);
        return size;
      }
      while (session.offset < size) {
        const n = Math.min(this.opts.chunkBytes, size - session.offset);
        const sent = await this.dst.request('PATCH', session.location, {
          what: `chunk of ${what}`,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(n), 'content-range': `${session.offset}-${session.offset + n - 1}` },
          body: reader.take(n),
        });
        await sent.body?.cancel();
        const next = this.sessionFrom(sent, session.location, session.offset + n);
        if (next.offset !== session.offset + n) throw new CopyError('TRANSIENT', `chunk of ${what}: the target holds ${next.offset} bytes, ${session.offset + n} were sent`, true);
        Object.assign(session, next);
        await this.events.chunk(digest, { ...session }, n);
        if (session.offset < size) this.events.checkStop();
      }
      await this.finish(session, digest, undefined, 0);
      return size - start;
    } catch (e) {
      if (e instanceof StopSignal) throw e;
      const cause = reader.failure ?? e;
      if (cause instanceof CopyError && cause.code === 'DIGEST_MISMATCH') {
        await this.dst.request('DELETE', session.location, { what: `upload of ${what}`, ok: [400, 404, 405] }).then(
          (r) => r.body?.cancel(),
          () => {},
        );
      }
      if (cause instanceof CopyError) throw cause;
      if (e instanceof CopyError) throw e;
      throw new CopyError('TRANSIENT', `${what} from ${this.src.endpoint.name}: ${e instanceof Error ? e.message : String(e)}`, true);
    } finally {
      await reader.close();
    }
  }

  private async finish(session: UploadSession, digest: string, body: ReadableStream<Uint8Array> | undefined, length: number): Promise<void> {
    const res = await this.dst.request('PUT', withDigest(session.location, digest), {
      what: `blob ${digest}`,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      ...(body ? { body } : {}),
    });
    await res.body?.cancel();
  }
}
