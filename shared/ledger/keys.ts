/**
 * Idempotency keys. A task's key is `<source image key>|<target key>`; the database holds it UNIQUE,
 * so however often a push is delivered or swept, one (image, target) pair yields one task.
 *
 * Source image key (version 1), fields joined by `|`:
 *   `v1|<sourceKind>|<source>|<namespace>/<repository>|<version>`
 * where <version> is
 *   `<tag>@<digest>`        when the digest is known (sent, or resolved at the source),
 *   `<tag>@event:<hash>`    else when the sender gave the event an id (CloudEvents, distribution, Docker Hub),
 *   `<tag>@pushed:<ISO>`    otherwise (pushed-at normalised to UTC ISO-8601 with milliseconds),
 *   `@<digest>`             for a push without a tag.
 * The tag stays in the key even when the digest is known: the clouds copy tags, so the same digest
 * pushed as `v1` and as `latest` are two replications, not one. A re-delivery of the same tag and
 * digest (or tag and pushed-at) is the same replication.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LedgerInputError } from './states.ts';

export interface SourceImage {
  sourceKind: string;
  source: string;
  namespace: string;
  repository: string;
  tag?: string | null;
  digest?: string | null;
  pushedAt?: Date | string | number | null;
  /** The sender's id of the event, for pushes that name no digest. */
  eventId?: string | null;
}

export function toIso(value: Date | string | number, field: string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new LedgerInputError(field, `not a valid time: ${JSON.stringify(value)}`);
  return d.toISOString();
}

function part(value: string | null | undefined, field: string): string {
  if (typeof value !== 'string' || value === '') throw new LedgerInputError(field, 'required, non-empty string');
  if (value.includes('|')) throw new LedgerInputError(field, "must not contain '|'");
  return value;
}

export function sourceImageKey(img: SourceImage): string {
  const head = `v1|${part(img.sourceKind, 'sourceKind')}|${part(img.source, 'source')}|${part(img.namespace, 'namespace')}/${part(img.repository, 'repository')}`;
  const tag = img.tag ? part(img.tag, 'tag') : '';
  if (img.digest) return `${head}|${tag}@${part(img.digest, 'digest')}`;
  if (!tag) throw new LedgerInputError('digest', 'required when the push has no tag');
  if (img.eventId) return `${head}|${tag}@event:${createHash('sha256').update(img.eventId).digest('hex').slice(0, 32)}`;
  if (img.pushedAt == null) throw new LedgerInputError('pushedAt', 'required when the digest is unknown');
  return `${head}|${tag}@pushed:${toIso(img.pushedAt, 'pushedAt')}`;
}

/**
 * A deletion's source key: `delete|` + the deleted image's key. Distinct from the copy of the same image,
 * and one per deleted digest, so a redelivered delete finds its deletion and a later push and delete of
 * the same tag (another digest) is a deletion of its own.
 */
export function deletionImageKey(img: SourceImage): string {
  if (!img.digest) throw new LedgerInputError('digest', 'required for a deletion: it names what Ferry copied');
  return `delete|${sourceImageKey(img)}`;
}

export function idempotencyKey(img: SourceImage, targetKey: string, action: 'copy' | 'delete' = 'copy'): string {
  if (typeof targetKey !== 'string' || targetKey === '') throw new LedgerInputError('targetKey', 'required, non-empty string');
  return `${action === 'delete' ? deletionImageKey(img) : sourceImageKey(img)}|${targetKey}`;
}

/**
 * A new row id: a UUID version 7 (48-bit millisecond time, then 74 random bits). Ids that grow with time
 * go to the right-hand end of the primary key and of every index keyed by them (tasks.replication_id,
 * task_events, task_cloud_refs), so writing one touches the same few index pages however large history
 * is; random ids would land on any page of indexes far larger than the database's cache.
 */
export function newRowId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
