/**
 * The referrers tag schema kept at a target without the referrers API. The OCI distribution spec
 * ("Pushing Manifests with Subject") puts this on the client: a manifest with a `subject` whose PUT is
 * not answered with `OCI-Subject` must be listed in the image index tagged `<alg>-<hex>` of the
 * subject — fetched if there is one (else begun empty), the descriptor added unless already listed,
 * and PUT back.
 */
import { digestOf, isDigest } from './digest.ts';
import { getManifest, putManifest } from './fetch-manifest.ts';
import { type Manifest, OCI_INDEX, OCI_MANIFEST, parseManifest } from './manifests.ts';
import type { RegistryClient } from './registry-client.ts';
import { CopyError } from './types.ts';

type Index = Extract<Manifest, { kind: 'index' }>;
/** A descriptor as written into the index: mediaType, digest, size, artifactType, annotations. */
type Entry = Record<string, unknown> & { digest: string };

export interface Referrer {
  subject: string;
  entry: Entry;
}

/** `<alg>-<encoded>` truncated to 32 and 64 characters, characters a tag may not have replaced by `-`. */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon).slice(0, 32)}-${digest.slice(colon + 1).slice(0, 64)}`.replace(/[^A-Za-z0-9_.-]/g, '-');
}

function jsonOf(m: Manifest): Record<string, unknown> | null {
  if (m.kind === 'index') return m.json;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(m.bytes).toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The subject `m` refers to and its entry in the subject's referrers list; null without a `subject`. */
export function referrerOf(m: Manifest): Referrer | null {
  const json = jsonOf(m);
  const subject = str((json?.['subject'] as Record<string, unknown> | undefined)?.['digest']);
  if (!json || !subject || !isDigest(subject)) return null;
  // An image manifest without artifactType is typed by its config; an index without one stays untyped.
  const config = json['config'] as Record<string, unknown> | undefined;
  const artifactType = str(json['artifactType']) ?? (m.mediaType === OCI_MANIFEST ? str(config?.['mediaType']) : undefined);
  const annotations = json['annotations'];
  const entry: Entry = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
  if (artifactType) entry['artifactType'] = artifactType;
  if (annotations && typeof annotations === 'object' && Object.keys(annotations).length) entry['annotations'] = annotations;
  return { subject, entry };
}

function entriesOf(index: Index): Entry[] {
  return (index.json['manifests'] as Entry[]).filter((e) => e && typeof e.digest === 'string');
}

/** The referrers lists to bring up to date at one target repository, written by `write()`. */
export class ReferrersTags {
  private readonly subjects = new Map<string, { entries: Map<string, Entry>; source?: Index }>();

  constructor(
    private readonly client: RegistryClient,
    private readonly repo: string,
  ) {}

  private pending(subject: string) {
    let p = this.subjects.get(subject);
    if (!p) this.subjects.set(subject, (p = { entries: new Map() }));
    return p;
  }

  /** A manifest with a subject went to the target and the target did not index it. */
  add(r: Referrer): void {
    const p = this.pending(r.subject);
    if (!p.entries.has(r.entry.digest)) p.entries.set(r.entry.digest, r.entry);
  }

  /** The source's own referrers list of `subject` (it had no API): its entries are listed at the target too. */
  addSourceIndex(subject: string, index: Index): void {
    const p = this.pending(subject);
    // Its bytes are reused only as an OCI index, the one type the schema allows.
    if (index.mediaType === OCI_INDEX) p.source = index;
    for (const e of entriesOf(index)) if (!p.entries.has(e.digest)) p.entries.set(e.digest, e);
  }

  get size(): number {
    return this.subjects.size;
  }

  /** One GET and at most one PUT per subject; returns how many lists were written. */
  async write(): Promise<number> {
    let written = 0;
    for (const [subject, p] of this.subjects) if (await this.writeOne(subject, p.entries, p.source)) written++;
    this.subjects.clear();
    return written;
  }

  private async writeOne(subject: string, wanted: Map<string, Entry>, source: Index | undefined): Promise<boolean> {
    const tag = referrersTag(subject);
    const current = await getManifest(this.client, this.repo, tag, { optional: true });
    if (current && (current.kind !== 'index' || current.mediaType !== OCI_INDEX)) {
      throw new CopyError(
        'MANIFEST_INVALID',
        `${this.repo}:${tag} at ${this.client.endpoint.name} holds a ${current.mediaType || 'manifest of no media type'}, not the OCI image index that lists the referrers of ${subject} (the registry has no referrers API); Ferry does not overwrite it`,
        false,
      );
    }
    const base = current ?? source;
    const listed = base ? entriesOf(base) : [];
    const known = new Set(listed.map((e) => e.digest));
    const added = [...wanted.values()].filter((e) => !known.has(e.digest));
    if (!added.length) {
      if (current || !source) return false;
      // Nothing to add to the source's list: the same bytes, so the same digest as at the source.
      await putManifest(this.client, this.repo, tag, source);
      return true;
    }
    const json = { ...(base?.json ?? { schemaVersion: 2, mediaType: OCI_INDEX }), manifests: [...(base ? (base.json['manifests'] as unknown[]) : []), ...added] };
    const bytes = new TextEncoder().encode(JSON.stringify(json));
    const index = parseManifest(bytes, OCI_INDEX, digestOf(bytes), `referrers list ${this.repo}:${tag}`);
    await putManifest(this.client, this.repo, tag, index);
    return true;
  }
}
