import * as z from '../zod.ts';
import { textProblem, timeProblem } from '../http/values.ts';
import * as naming from '../rules/naming.ts';

/**
 * Every registry's push notification, reduced to what replication needs. Parsers
 * read what matters, ignore unknown fields, and reject only what makes an event
 * meaningless or what the ledger cannot store, naming the field: a text field with NUL or a
 * lone surrogate, a time outside the years 100–9999 (shared/http/values.ts), a digest that is not
 * `sha256:`/`sha512:` and its hex digits.
 */
export const WEBHOOK_KINDS = ['acr', 'harbor', 'distribution', 'dockerhub', 'cloudevents'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export interface NormalizedPush {
  /** Which sender format it came in. */
  format: 'acr-trigger' | 'harbor' | 'harbor-cloudevents' | 'distribution' | 'dockerhub' | 'eventbridge-acr';
  namespace: string;
  /** Repository below the namespace; may contain `/`. */
  repository: string;
  tag?: string;
  digest?: string;
  pushedAt: Date;
  /** ACR: the region the payload names. */
  region?: string;
  /** ACR via EventBridge: the instance the event names. */
  instanceId?: string;
  /** Harbor / distribution: the registry host, when the payload carries one. */
  host?: string;
  /** The sender's own id of the event (CloudEvents `source`+`id`, distribution `events[].id`, Docker Hub `callback_url`). */
  eventId?: string;
  /** A deletion at the source (Harbor artifact deleted, distribution `delete`), not a push. */
  deleted?: true;
}

export type NormalizeResult = { ok: true; pushes: NormalizedPush[]; ignored: string[] } | { ok: false; status: 400 | 415 | 422; field: string; message: string };

const MANIFEST_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** A string the ledger can store (no NUL, no lone surrogate). */
const text = z.string().check(
  z.superRefine((v, ctx) => {
    const problem = textProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);
const nonEmpty = text.check(z.trim()).check(z.minLength(1));
const optionalText = z.pipe(
  z.nullable(z.optional(text)),
  z.transform((v) => (v?.trim() ? v.trim() : undefined)),
);
/** A sender's value in a message: JSON-quoted, at most 80 characters of it. */
const quote = (v: unknown) => (typeof v === 'string' && v.length > 80 ? `${JSON.stringify(v.slice(0, 80))}…` : JSON.stringify(v));
/** An image digest, when given: `sha256:` + 64 or `sha512:` + 128 lowercase hex digits. */
const optionalDigest = optionalText.check(
  z.superRefine((v, ctx) => {
    const problem = v === undefined ? null : naming.imageDigest(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `${quote(v)} ${problem}` });
  }),
);
/** A time as senders write it: epoch seconds or milliseconds, or a date string. */
const timeValue = z.optional(z.union([z.number(), text]));

/** ACR repository-trigger times: `YYYY-MM-DD HH:mm:ss`, no zone; ACR shows them in China Standard Time. */
const ACR_ZONE = '+08:00';
export function parseAcrTime(value: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) return null;
  const d = new Date(`${m[1]}T${m[2]}${m[3] ?? ACR_ZONE}`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The push time: `now` when the sender gives none (or one nobody can read), a refusal when it is outside what the ledger stores. */
function pushTime(value: unknown, field: string, now: Date): { ok: true; at: Date } | { ok: false; refused: NormalizeResult } {
  let ms = Number.NaN;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value < 1e12 ? value * 1000 : value;
  else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return pushTime(Number(value), field, now);
  else if (typeof value === 'string' && value.trim()) ms = (parseAcrTime(value) ?? new Date(value)).getTime();
  // A number is always meant as a time; an unreadable string or nothing at all is "now".
  if (Number.isNaN(ms) && typeof value !== 'number') return { ok: true, at: now };
  const problem = timeProblem(ms);
  if (problem) return { ok: false, refused: invalid(field, `${problem}; got ${quote(value)}`) };
  return { ok: true, at: new Date(ms) };
}

/** `a/b/c` → namespace `a`, repository `b/c`. */
function splitFullName(full: string): { namespace: string; repository: string } | null {
  const clean = full.replace(/^\/+|\/+$/g, '');
  const slash = clean.indexOf('/');
  if (slash <= 0 || slash === clean.length - 1) return null;
  return { namespace: clean.slice(0, slash), repository: clean.slice(slash + 1) };
}

function invalid(field: string, message: string): NormalizeResult {
  return { ok: false, status: 422, field, message };
}

function firstIssue(error: z.core.$ZodError, prefix = ''): NormalizeResult {
  const issue = error.issues[0]!;
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return invalid(prefix + path || '(body)', issue.message);
}

// ---------- ACR repository trigger ----------
const acrTrigger = z.object({
  push_data: z.object({ digest: optionalDigest, pushed_at: nonEmpty, tag: optionalText }),
  repository: z.object({ name: nonEmpty, namespace: nonEmpty, region: optionalText, repo_full_name: optionalText }),
});

function normalizeAcr(body: unknown): NormalizeResult {
  const parsed = acrTrigger.safeParse(body);
  if (!parsed.success) return firstIssue(parsed.error);
  const { push_data: push, repository: repo } = parsed.data;
  const pushedAt = parseAcrTime(push.pushed_at);
  if (!pushedAt) return invalid('push_data.pushed_at', `must be "YYYY-MM-DD HH:mm:ss", got "${push.pushed_at}"`);
  const problem = timeProblem(pushedAt.getTime());
  if (problem) return invalid('push_data.pushed_at', `${problem}; got ${quote(push.pushed_at)}`);
  return {
    ok: true,
    ignored: [],
    pushes: [
      {
        format: 'acr-trigger',
        namespace: repo.namespace,
        repository: repo.name,
        ...(push.tag ? { tag: push.tag } : {}),
        ...(push.digest ? { digest: push.digest } : {}),
        pushedAt,
        ...(repo.region ? { region: repo.region } : {}),
      },
    ],
  };
}

// ---------- Harbor (default format) ----------
const harborData = z.object({
  resources: z.array(z.object({ digest: optionalDigest, tag: optionalText, resource_url: optionalText })).check(z.minLength(1, 'must list at least one resource')),
  repository: z.object({ name: nonEmpty, namespace: nonEmpty, repo_full_name: optionalText }),
});
const harborEvent = z.object({ type: nonEmpty, occur_at: timeValue, event_data: z.unknown() });

const HARBOR_PUSH = new Set(['PUSH_ARTIFACT', 'pushImage', 'harbor.artifact.pushed']);
const HARBOR_DELETE = new Set(['DELETE_ARTIFACT', 'deleteImage', 'harbor.artifact.deleted']);

/** The same pushes, marked as deletions. */
function asDeletions(r: NormalizeResult): NormalizeResult {
  return r.ok ? { ...r, pushes: r.pushes.map((p) => ({ ...p, deleted: true as const })) } : r;
}

function harborPushes(data: unknown, occurAt: unknown, timeField: string, format: NormalizedPush['format'], fieldPrefix: string, now: Date): NormalizeResult {
  const parsed = harborData.safeParse(data);
  if (!parsed.success) return firstIssue(parsed.error, fieldPrefix);
  const { resources, repository } = parsed.data;
  // Harbor's repository.name is the part below the project; repo_full_name repeats the project.
  const full = repository.repo_full_name ? splitFullName(repository.repo_full_name) : null;
  const namespace = repository.namespace;
  const name = full && full.namespace === namespace ? full.repository : repository.name;
  const time = pushTime(occurAt, timeField, now);
  if (!time.ok) return time.refused;
  const pushedAt = time.at;
  const pushes: NormalizedPush[] = [];
  const ignored: string[] = [];
  resources.forEach((r, i) => {
    if (!r.tag && !r.digest) {
      ignored.push(`${fieldPrefix}resources[${i}]: neither tag nor digest`);
      return;
    }
    const host = r.resource_url ? r.resource_url.split('/')[0] : undefined;
    pushes.push({
      format,
      namespace,
      repository: name,
      ...(r.tag ? { tag: r.tag } : {}),
      ...(r.digest ? { digest: r.digest } : {}),
      pushedAt,
      ...(host?.includes('.') ? { host } : {}),
    });
  });
  return { ok: true, pushes, ignored };
}

function normalizeHarbor(body: unknown, now: Date): NormalizeResult {
  const parsed = harborEvent.safeParse(body);
  if (!parsed.success) return firstIssue(parsed.error);
  const { type } = parsed.data;
  if (HARBOR_DELETE.has(type)) return asDeletions(harborPushes(parsed.data.event_data, parsed.data.occur_at, 'occur_at', 'harbor', 'event_data.', now));
  if (!HARBOR_PUSH.has(type)) return { ok: true, pushes: [], ignored: [`event type ${type} is not a push`] };
  return harborPushes(parsed.data.event_data, parsed.data.occur_at, 'occur_at', 'harbor', 'event_data.', now);
}

// ---------- CNCF distribution envelope ----------
const distributionEvent = z.object({
  id: optionalText,
  action: nonEmpty,
  timestamp: timeValue,
  target: z.object({ mediaType: optionalText, digest: optionalDigest, repository: nonEmpty, tag: optionalText, url: optionalText }),
  request: z.optional(z.object({ host: optionalText })),
});
const distributionEnvelope = z.object({ events: z.array(z.unknown()) });

function normalizeDistribution(body: unknown, now: Date): NormalizeResult {
  const envelope = distributionEnvelope.safeParse(body);
  if (!envelope.success) return firstIssue(envelope.error);
  const pushes: NormalizedPush[] = [];
  const ignored: string[] = [];
  for (const [i, raw] of envelope.data.events.entries()) {
    const parsed = distributionEvent.safeParse(raw);
    if (!parsed.success) return firstIssue(parsed.error, `events[${i}].`);
    const e = parsed.data;
    if (e.action === 'delete') {
      const r = distributionDeletion(e, i, now);
      if ('refused' in r) return r.refused;
      if ('ignored' in r) ignored.push(r.ignored);
      else pushes.push(r.deletion);
      continue;
    }
    if (e.action !== 'push') {
      ignored.push(`events[${i}]: action ${e.action} is not a push`);
      continue;
    }
    if (!e.target.mediaType || !MANIFEST_TYPES.has(e.target.mediaType)) {
      ignored.push(`events[${i}]: ${e.target.mediaType ?? 'no media type'} is a layer, not an image manifest`);
      continue;
    }
    const image = distributionImage(e, i, now);
    if ('refused' in image) return image.refused;
    pushes.push(image.image);
  }
  return { ok: true, pushes, ignored };
}

/** The image one distribution event names (push or delete alike), or why it is refused. */
function distributionImage(e: z.infer<typeof distributionEvent>, i: number, now: Date): { image: NormalizedPush } | { refused: NormalizeResult } {
  const names = splitFullName(e.target.repository);
  if (!names) return { refused: invalid(`events[${i}].target.repository`, `must be "namespace/name", got "${e.target.repository}"`) };
  const time = pushTime(e.timestamp, `events[${i}].timestamp`, now);
  if (!time.ok) return { refused: time.refused };
  return {
    image: {
      format: 'distribution',
      ...names,
      ...(e.target.tag ? { tag: e.target.tag } : {}),
      ...(e.target.digest ? { digest: e.target.digest } : {}),
      pushedAt: time.at,
      ...(e.request?.host ? { host: e.request.host } : {}),
      ...(e.id ? { eventId: `distribution:${e.id}` } : {}),
    },
  };
}

/**
 * A distribution `delete`: of a manifest (its digest, no tag), of a tag (its tag, no digest), or of a
 * blob or repository, which announce no image Ferry copied (a blob's digest matches no copy).
 */
function distributionDeletion(e: z.infer<typeof distributionEvent>, i: number, now: Date): { deletion: NormalizedPush } | { ignored: string } | { refused: NormalizeResult } {
  if (!e.target.tag && !e.target.digest) return { ignored: `events[${i}]: a deleted repository names no tag or digest` };
  const image = distributionImage(e, i, now);
  if ('refused' in image) return image;
  return { deletion: { ...image.image, deleted: true } };
}

// ---------- Docker Hub ----------
const dockerHub = z.object({
  push_data: z.object({ pushed_at: timeValue, tag: optionalText }),
  repository: z.object({ repo_name: optionalText, name: nonEmpty, namespace: nonEmpty }),
  callback_url: optionalText,
});

function normalizeDockerHub(body: unknown, now: Date): NormalizeResult {
  const parsed = dockerHub.safeParse(body);
  if (!parsed.success) return firstIssue(parsed.error);
  const { push_data: push, repository, callback_url: callback } = parsed.data;
  if (!push.tag) return invalid('push_data.tag', 'is required: Docker Hub sends no digest, so a push without a tag names no image');
  const time = pushTime(push.pushed_at, 'push_data.pushed_at', now);
  if (!time.ok) return time.refused;
  return {
    ok: true,
    ignored: [],
    // Docker Hub's callback URL is unique to the push: the event's identity when redelivered.
    pushes: [{ format: 'dockerhub', namespace: repository.namespace, repository: repository.name, tag: push.tag, pushedAt: time.at, ...(callback ? { eventId: `dockerhub:${callback}` } : {}) }],
  };
}

// ---------- CloudEvents (structured and binary) ----------
const cloudEvent = z.object({ specversion: nonEmpty, id: nonEmpty, source: nonEmpty, type: nonEmpty, time: z.optional(text), data: z.unknown() });

const eventBridgePush = z.object({
  InstanceId: optionalText,
  RepoNamespaceName: nonEmpty,
  RepoName: nonEmpty,
  Tag: optionalText,
  Digest: optionalDigest,
  RegionId: optionalText,
});

/** A CloudEvent's pushes, each carrying the event's identity (`source` + `id`, unique per the spec). */
function normalizeCloudEvent(event: z.infer<typeof cloudEvent>, extra: { region?: string | undefined; timeField: string }, now: Date): NormalizeResult {
  const r = cloudEventPushes(event, extra, now);
  if (!r.ok) return r;
  return { ...r, pushes: r.pushes.map((p) => ({ ...p, eventId: `cloudevents:${event.source}:${event.id}` })) };
}

function cloudEventPushes(event: z.infer<typeof cloudEvent>, extra: { region?: string | undefined; timeField: string }, now: Date): NormalizeResult {
  if (event.type === 'harbor.artifact.pushed') return harborPushes(event.data, event.time, extra.timeField, 'harbor-cloudevents', 'data.', now);
  if (event.type === 'harbor.artifact.deleted') return asDeletions(harborPushes(event.data, event.time, extra.timeField, 'harbor-cloudevents', 'data.', now));
  if (event.type === 'cr:Artifact:PushCompleted') {
    const parsed = eventBridgePush.safeParse(event.data);
    if (!parsed.success) return firstIssue(parsed.error, 'data.');
    const d = parsed.data;
    if (!d.Tag && !d.Digest) return invalid('data.Tag', 'is required when data.Digest is absent');
    const region = d.RegionId ?? extra.region;
    const time = pushTime(event.time, extra.timeField, now);
    if (!time.ok) return time.refused;
    return {
      ok: true,
      ignored: [],
      pushes: [
        {
          format: 'eventbridge-acr',
          namespace: d.RepoNamespaceName,
          repository: d.RepoName,
          ...(d.Tag ? { tag: d.Tag } : {}),
          ...(d.Digest ? { digest: d.Digest } : {}),
          pushedAt: time.at,
          ...(region ? { region } : {}),
          ...(d.InstanceId ? { instanceId: d.InstanceId } : {}),
        },
      ],
    };
  }
  return { ok: true, pushes: [], ignored: [`event type ${event.type} is not a push`] };
}

// ---------- entry point ----------

export interface WebhookInput {
  kind: WebhookKind;
  /** Lowercased header names. */
  headers: Record<string, string>;
  body: string;
  now?: Date;
}

function mediaType(headers: Record<string, string>): string {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

const JSON_TYPES = new Set(['application/json', 'text/json']);
const ACCEPTED: Record<WebhookKind, Set<string>> = {
  acr: JSON_TYPES,
  harbor: JSON_TYPES,
  dockerhub: JSON_TYPES,
  distribution: new Set([...JSON_TYPES, 'application/vnd.docker.distribution.events.v1+json', 'application/vnd.docker.distribution.events.v2+json']),
  cloudevents: new Set([...JSON_TYPES, 'application/cloudevents+json']),
};

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (e) {
    return { ok: false, message: `malformed JSON: ${(e as Error).message}` };
  }
}

export function normalizeWebhook(input: WebhookInput): NormalizeResult {
  const now = input.now ?? new Date();
  const type = mediaType(input.headers);
  const binaryCloudEvent = input.kind === 'cloudevents' && !!input.headers['ce-specversion'];
  if (!ACCEPTED[input.kind].has(type) && !(binaryCloudEvent && type === '')) {
    return { ok: false, status: 415, field: 'content-type', message: `must be one of ${[...ACCEPTED[input.kind]].join(', ')}; got "${type || '(none)'}"` };
  }
  const json = parseJson(input.body);
  if (!json.ok) return { ok: false, status: 400, field: '(body)', message: json.message };
  const body = json.value;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, status: 400, field: '(body)', message: 'must be a JSON object' };

  switch (input.kind) {
    case 'acr':
      return normalizeAcr(body);
    case 'harbor':
      return normalizeHarbor(body, now);
    case 'distribution':
      return normalizeDistribution(body, now);
    case 'dockerhub':
      return normalizeDockerHub(body, now);
    case 'cloudevents': {
      if (binaryCloudEvent) {
        const h = input.headers;
        const parsed = cloudEvent.safeParse({ specversion: h['ce-specversion'], id: h['ce-id'], source: h['ce-source'], type: h['ce-type'], time: h['ce-time'], data: body });
        if (!parsed.success) return firstIssue(parsed.error, 'ce-');
        return normalizeCloudEvent(parsed.data, { region: h['ce-aliyunregionid'], timeField: 'ce-time' }, now);
      }
      if (type !== 'application/cloudevents+json' && !('specversion' in body)) {
        return { ok: false, status: 400, field: 'ce-specversion', message: 'a CloudEvent needs ce-* headers (binary mode) or a structured application/cloudevents+json body' };
      }
      const parsed = cloudEvent.safeParse(body);
      if (!parsed.success) return firstIssue(parsed.error);
      const region = (body as Record<string, unknown>).aliyunregionid;
      return normalizeCloudEvent(parsed.data, { region: typeof region === 'string' ? region : undefined, timeField: 'time' }, now);
    }
  }
}
