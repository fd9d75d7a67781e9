/**
 * The copy engine's contract: Ferry moves an image itself, registry to registry, over the OCI
 * distribution API. The engine knows registries, never clouds or the ledger: a cloud contributes
 * only a `Login` (ACR: GetAuthorizationToken; SWR: the AK/SK-derived login), and the caller
 * persists the engine's `CopyCheckpoint` wherever it likes (the copy provider: the ledger).
 */

/** Credentials for a registry; `expiresAt` (epoch ms) makes the engine ask again before it passes. */
export interface RegistryCredentials {
  username: string;
  password: string;
  expiresAt?: number | undefined;
}

/** Where credentials come from: null = anonymous. Called lazily (first 401) and again when expired or refused. */
export type Login = () => Promise<RegistryCredentials | null>;

export interface RegistryEndpoint {
  /** Base URL without `/v2`: `https://host[:port]` (http only for loopback or an explicit insecure registry). */
  url: string;
  /** For messages and logs: the configured registry's name or the host. */
  name: string;
  login: Login;
}

export interface ImageRef {
  registry: RegistryEndpoint;
  /** The repository path, e.g. `team/app` (`library/nginx` on Docker Hub). */
  repository: string;
  tag?: string | undefined;
  /** When given for a source, the copy pins this digest (a tag may move meanwhile). */
  digest?: string | undefined;
}

export interface CopyOptions {
  /** `os/arch[/variant]` to keep from an index; then a new index is written (its digest differs). */
  platforms?: readonly string[] | undefined;
  /**
   * Also copy referrers: OCI 1.1 referrers API, the referrers tag schema, cosign `.sig/.att/.sbom` tags.
   * A target without the API (no `OCI-Subject` answered) gets the tag schema's index, kept by the engine.
   */
  referrers?: boolean | undefined;
  /** Blobs copied at once (default 4). */
  concurrency?: number | undefined;
  /** Blobs at least this large are uploaded in chunks, checkpointed after each (default 64 MiB). */
  chunkBytes?: number | undefined;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch | undefined;
  /** Epoch-ms clock (tests, deadlines). */
  now?: (() => number) | undefined;
  /** Waits (Retry-After, rate limits); defaults to setTimeout. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * What has been done, JSON-serializable, so any process can continue the copy: blobs and
 * manifests already at the target are not sent again, and a half-sent blob resumes at the offset
 * the target registry reports for its upload session.
 */
export interface CopyCheckpoint {
  /** The source manifest's digest, fixed at the first slice (the tag may move later). */
  sourceDigest?: string | undefined;
  /** Digests (blobs and child manifests) known to be at the target. */
  done: string[];
  /** An upload session in flight: resumed from the registry's reported offset. */
  uploads: Array<{ digest: string; location: string; offset: number }>;
  bytesCopied: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
}

export interface CopyProgress {
  phase: 'resolve' | 'blobs' | 'manifests' | 'referrers' | 'tag';
  bytesDone: number;
  bytesTotal: number;
  blobsDone: number;
  blobsTotal: number;
}

export interface CopyHooks {
  /** Persists progress; awaited before the engine relies on it. Throwing stops the copy. */
  checkpoint?(state: CopyCheckpoint): Promise<void>;
  /**
   * Asked between blobs and chunks: `slice` ends this slice (time is up; a later call continues),
   * `cancel` stops for good. Either way the tag is not written.
   */
  shouldStop?(): 'slice' | 'cancel' | null;
  progress?(p: CopyProgress): void;
}

export interface CopyStats {
  bytesCopied: number;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  manifests: number;
  referrers: number;
  requests: number;
}

export type CopyResult =
  | { status: 'done'; sourceDigest: string; targetDigest: string; stats: CopyStats }
  | { status: 'paused'; checkpoint: CopyCheckpoint }
  | { status: 'canceled'; checkpoint: CopyCheckpoint };

/** Why a copy failed, in words the ledger keeps. */
export type CopyErrorCode =
  | 'DIGEST_MISMATCH'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'MANIFEST_INVALID'
  | 'PLATFORM_UNKNOWN'
  | 'TRANSIENT';

export class CopyError extends Error {
  constructor(
    readonly code: CopyErrorCode,
    message: string,
    /** Worth trying again later (5xx, network, throttling); never for digest or auth failures. */
    readonly retryable: boolean,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'CopyError';
  }
}
