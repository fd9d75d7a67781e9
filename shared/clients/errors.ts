/**
 * One error type per meaning, whatever cloud said it. Callers branch on the class
 * (or `kind`), never on a provider's error code.
 */
/** Who answered: Ferry's own clients name their cloud; a registered provider may name itself. */
export type CloudProvider = 'acr' | 'ecs' | 'kms' | 'swr' | 'iam' | 'fc' | (string & {});

export type CloudErrorKind = 'not_found' | 'conflict' | 'auth' | 'permission' | 'throttled' | 'transient' | 'invalid' | 'malformed' | 'unknown';

export interface CloudErrorInit {
  provider: CloudProvider;
  /** The cloud's own error code, e.g. `SYNC_TASK_NOT_EXIST`, `SVCSTG.SWR.4040010`. */
  code: string;
  message: string;
  requestId?: string | undefined;
  /** HTTP status of the response, when there was one. */
  status?: number | undefined;
  /** The API operation, e.g. `CancelRepoSyncTask` or `DELETE sync_repo`. */
  action?: string | undefined;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly kind: CloudErrorKind = 'unknown';
  readonly provider: CloudProvider;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly status: number | undefined;
  readonly action: string | undefined;

  constructor(init: CloudErrorInit) {
    super(`${init.provider}${init.action ? ' ' + init.action : ''}: ${init.code}: ${init.message}`, { cause: init.cause });
    this.name = new.target.name;
    this.provider = init.provider;
    this.code = init.code;
    this.requestId = init.requestId;
    this.status = init.status;
    this.action = init.action;
  }

  /** Whether re-sending the same request may succeed. */
  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'transient';
  }

  toJSON() {
    return { kind: this.kind, provider: this.provider, code: this.code, message: this.message, requestId: this.requestId, status: this.status };
  }
}

/** The resource does not exist: ACR `SYNC_TASK_NOT_EXIST`, ECS `InvalidTaskId.NotFound`, SWR 404. */
export class CloudNotFoundError extends CloudError {
  override readonly kind = 'not_found' as const;
}
/** The resource is in the wrong state for the operation: ECS `InvalidTaskId.IncorrectTaskStatus`. */
export class CloudConflictError extends CloudError {
  override readonly kind = 'conflict' as const;
}
/** Credentials rejected: bad signature, unknown key, expired token. */
export class CloudAuthError extends CloudError {
  override readonly kind = 'auth' as const;
}
/** Credentials valid but not allowed: `NoPrivilege`, SWR 403. */
export class CloudPermissionError extends CloudError {
  override readonly kind = 'permission' as const;
}
/** Throttled; `retryAfterMs` is the server's wait when it said one. */
export class CloudThrottledError extends CloudError {
  override readonly kind = 'throttled' as const;
  readonly retryAfterMs: number | undefined;
  constructor(init: CloudErrorInit & { retryAfterMs?: number | undefined }) {
    super(init);
    this.retryAfterMs = init.retryAfterMs;
  }
}
/** 5xx, dropped connection, timeout: the request may or may not have been applied. */
export class CloudTransientError extends CloudError {
  override readonly kind = 'transient' as const;
}
/** The request was wrong (missing/invalid parameter, action not supported). */
export class CloudInvalidRequestError extends CloudError {
  override readonly kind = 'invalid' as const;
}
/** The response did not match the documented shape. */
export class CloudMalformedResponseError extends CloudError {
  override readonly kind = 'malformed' as const;
}
