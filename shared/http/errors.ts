/**
 * The one HTTP error envelope of every Ferry function (webhook, operator API, the FC / node
 * runtime adapters):
 *
 *   {"error": {"status": 413, "code": "PayloadTooLarge", "message": "…", "field"?: "…", …}}
 *
 * `code` comes from ERROR_CODES (PascalCase, stable, for programs); `message` is for people;
 * `field` names the request part at fault. Some answers add `requestId` (adapters), `state` and
 * `taskId` (409 AlreadyFinished), `cloud` (the cloud's own error code and request id).
 * Per-target failures inside a 2xx webhook answer are not HTTP errors and do not use this.
 */
import * as z from '../zod.ts';
import { clip, redact } from '../log.ts';

/** Every code an error answer may carry, with its HTTP status. */
export const ERROR_STATUS = {
  /** The platform event (API Gateway / FC HTTP trigger) cannot be turned into a request. */
  BadEvent: 400,
  /** A request field (path, query, body member) breaks a rule; `field` names it. */
  InvalidRequest: 400,
  /** The body cannot be used: not UTF-8, not a JSON object, not the event shape's framing. */
  InvalidBody: 400,
  /** The body is not JSON. */
  InvalidJson: 400,
  /** Missing or unknown token. */
  Unauthorized: 401,
  /** The token may not do this (read-only token on a POST). */
  Forbidden: 403,
  /** No such route. */
  NotFound: 404,
  /** `POST /webhooks/{kind}` with a kind Ferry does not read. */
  UnknownKind: 404,
  TaskNotFound: 404,
  ReplicationNotFound: 404,
  /** The cloud does not know the task to cancel. */
  CloudTaskNotFound: 404,
  /** The route exists, the method does not; `Allow` lists the methods it has. */
  MethodNotAllowed: 405,
  /** The task already ended; `state` says how. */
  AlreadyFinished: 409,
  /** An ECS task id watched in several regions. */
  AmbiguousTask: 409,
  /** A retry of a task that is not failed, canceled or timed out; `state` says what it is. */
  NotRetryable: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  /** A webhook event that is well-formed JSON but not a usable push event; `field` names the part. */
  InvalidEvent: 422,
  /** A webhook delivery no configured source matches; `field` names what to add. */
  UnknownSource: 422,
  /** A pushed image name (namespace, repository, tag) that breaks the source cloud's naming rules; `field` names it. */
  InvalidName: 422,
  /** The cloud refused to cancel this kind of task. */
  CancelNotSupported: 422,
  /** The config lacks what the operation needs; `field` names the config path. */
  NotConfigured: 422,
  InternalError: 500,
  /** A method no Ferry route serves and the HTTP runtime cannot represent (TRACE, TRACK, CONNECT). */
  NotImplemented: 501,
  /** The cloud call failed; `cloud` has its code and request id. */
  CloudError: 502,
  /** The cloud refused Ferry's own credentials. */
  CloudPermissionDenied: 502,
  /** The function could not start (configuration, ledger); retry later. */
  Unavailable: 503,
  /** The cloud is throttling Ferry; see Retry-After. */
  CloudThrottled: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const errorCodeSchema = z.enum(ERROR_CODES).check(z.describe('Stable error code (the vocabulary shared by the webhook, the API and the function runtime)'));

export const errorDetailSchema = z.strictObject({
  status: z.int().check(z.gte(400)).check(z.lte(599)).check(z.describe('the HTTP status, repeated')),
  code: errorCodeSchema,
  message: z.string().check(z.describe('what went wrong, for people')),
  field: z.optional(z.string()).check(z.describe('the request field at fault')),
  requestId: z.optional(z.string()).check(z.describe('the invocation id (answers of the function runtime)')),
  state: z.optional(z.string()).check(z.describe('the state of the task (409 AlreadyFinished, NotRetryable)')),
  taskId: z.optional(z.string()).check(z.describe('the Ferry task concerned')),
  cloud: z.optional(z.object({ code: z.string(), requestId: z.nullable(z.string()) })).check(z.describe("the cloud's own error code and request id")),
});

/** The envelope every error answer has; parse error bodies with it. */
export const errorEnvelopeSchema = z.strictObject({ error: errorDetailSchema }).check(z.describe('Error answer of every Ferry HTTP route'));

export type ErrorDetail = z.infer<typeof errorDetailSchema>;
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;
/** The optional members, besides status, code and message. */
export type ErrorExtra = Omit<ErrorDetail, 'status' | 'code' | 'message'>;

export const ERROR_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The longest `message` an error answer carries; request values in it are clipped shorter where they are echoed. */
export const ERROR_MESSAGE_MAX = 1000;

/**
 * `{error:{status, code, message, …extra}}`; the message is masked of registered secrets and, like
 * `field`, bounded in length (they may echo what the request sent).
 */
export function errorBody(status: number, code: ErrorCode, message: string, extra: ErrorExtra = {}): ErrorEnvelope {
  const error: ErrorDetail = { status, code, message: clip(String(redact(message)), ERROR_MESSAGE_MAX) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (error as Record<string, unknown>)[k] = k === 'field' && typeof v === 'string' ? clip(v) : v;
  return { error };
}

/** The envelope as a JSON Response (content-type application/json; charset=utf-8, plus `headers`). */
export function errorResponse(status: number, code: ErrorCode, message: string, extra: ErrorExtra = {}, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(status, code, message, extra)), {
    status,
    headers: { ...headers, 'content-type': ERROR_CONTENT_TYPE },
  });
}

/** An error answer thrown through an app (the API's handlers); the app turns it into the envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: ErrorExtra = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ErrorEnvelope {
    return errorBody(this.status, this.code, this.message, this.extra);
  }

  response(): Response {
    return errorResponse(this.status, this.code, this.message, this.extra, this.headers);
  }
}
