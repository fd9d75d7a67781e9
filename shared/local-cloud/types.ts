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
