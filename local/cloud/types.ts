/**
 * The local cloud is one HTTP server hosting several emulated services. The server
 * (server.ts) parses each request once, asks every service whether it owns it, applies
 * injected faults by operation name, then lets the owning service answer.
 */
export interface CloudRequest {
  method: string;
  /** Raw path as received, without the query string (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  /** Lowercased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** Virtual time (ms since epoch) at arrival. */
  now: number;
}

export interface CloudResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
}

export interface FaultProfile {
  /** Error body + headers this service uses for throttling. */
  throttled(req: CloudRequest, waitMs: number): CloudResponse;
  /** Error body this service uses for a 5xx (`ServiceUnavailable`/`InternalError`). */
  serverError(req: CloudRequest, status: number): CloudResponse;
}

export interface EmulatedService extends FaultProfile {
  readonly name: 'alibaba' | 'huawei' | 'fc';
  /** Whether this service owns the request (by path, headers or parameters). */
  owns(req: CloudRequest): boolean;
  /**
   * The operation, e.g. `acr:CreateRepoSyncTask`, `ecs:CancelTask`, `swr:sync_images`,
   * `iam:tokens`, `fc:createTrigger`; plus the instance/region it targets when known,
   * for fault matching. Null when the request is too broken to name one.
   */
  operation(req: CloudRequest): { op: string; scope?: string } | null;
  handle(req: CloudRequest): Promise<CloudResponse>;
  /** Forget all state (admin reset). */
  reset(): void;
  /** JSON view of state for `GET /_local/state`. */
  snapshot(): unknown;
}

/** The local cloud's clock: virtual time that runs `speed` times faster and can be advanced. */
export interface VirtualClock {
  now(): number;
  /** Jump virtual time forward (tests of hours-long behaviour). */
  advance(ms: number): void;
  setSpeed(speed: number): void;
  /** Resolve after `ms` of virtual time. */
  sleep(ms: number): Promise<void>;
}

/** Deliver an outgoing webhook (e.g. an ACR repository trigger) to a URL. */
export type Deliver = (url: string, body: unknown, headers?: Record<string, string>) => Promise<{ status: number }>;

export interface LocalCloudEnv {
  clock: VirtualClock;
  seed: import('./seed.ts').LocalCloudSeed;
  /** Random source, seedable for deterministic tests. */
  random: () => number;
  deliver: Deliver;
  /** Which realism modes are on (realism.ts). */
  realism: import('./realism.ts').Realism;
}
