/** Manifest media types, parsing (what a manifest references) and the platform filter of an index. */
import * as z from '../zod.ts';
import { digestOf, isDigest } from './digest.ts';
import { CopyError } from './types.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json'];

/** Every type Ferry handles, and schema 1 so that a registry holding one says so rather than 404 (we then refuse it clearly). */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, ...SCHEMA1].join(', ');

/** distribution's own limit; a larger "manifest" is not one. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const platformSchema = z.looseObject({ os: z.string(), architecture: z.string(), variant: z.optional(z.string()) });
const descriptorSchema = z.looseObject({
  mediaType: z._default(z.string(), ''),
  digest: z.string().check(z.refine(isDigest, 'not a digest')),
  size: z.int().check(z.nonnegative()),
  urls: z.optional(z.array(z.string())),
  platform: z.optional(platformSchema),
  annotations: z.optional(z.record(z.string(), z.string())),
});
const indexSchema = z.looseObject({ manifests: z.array(descriptorSchema) });
const imageSchema = z.looseObject({ config: descriptorSchema, layers: z._default(z.array(descriptorSchema), []) });

export type Descriptor = z.infer<typeof descriptorSchema>;

interface Common {
  mediaType: string;
  bytes: Uint8Array;
  digest: string;
}
/** `other`: a media type Ferry does not know, copied as-is with whatever blobs it plainly references. */
export type Manifest =
  | (Common & { kind: 'index'; manifests: Descriptor[]; json: Record<string, unknown> })
  | (Common & { kind: 'image'; blobs: Descriptor[] })
  | (Common & { kind: 'other'; blobs: Descriptor[] });

/** Layers a registry never holds (Windows base layers served from `urls`). */
function isForeign(d: Descriptor): boolean {
  return d.mediaType.includes('.foreign.') || (d.urls?.length ?? 0) > 0;
}

function invalid(what: string, why: string): CopyError {
  return new CopyError('MANIFEST_INVALID', `${what}: ${why}`, false);
}

/** `contentType` is the registry's Content-Type; `digest` what the bytes hash to (already verified). */
export function parseManifest(bytes: Uint8Array, contentType: string | null, digest: string, what: string): Manifest {
  let json: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // an unknown type need not be JSON
  }
  const declared = typeof json?.['mediaType'] === 'string' ? (json['mediaType'] as string) : null;
  let mediaType = contentType?.split(';')[0]?.trim() || declared || '';
  if (!mediaType || mediaType === 'application/json') {
    if (json?.['schemaVersion'] === 1) mediaType = SCHEMA1[0]!;
    else if (Array.isArray(json?.['manifests'])) mediaType = OCI_INDEX;
    else if (json?.['config']) mediaType = OCI_MANIFEST;
  }
  if (SCHEMA1.includes(mediaType) || json?.['schemaVersion'] === 1) {
    throw new CopyError(
      'UNSUPPORTED',
      `${what} is a Docker schema 1 manifest (${mediaType || 'schemaVersion 1'}): it is signed by the source registry's key and cannot be copied byte for byte; push the image again with a current Docker or buildx (schema 2 / OCI)`,
      false,
    );
  }
  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST) {
    const r = indexSchema.safeParse(json);
    if (!r.success) throw invalid(what, `not an image index (${r.error.issues[0]?.message ?? 'invalid'})`);
    return { kind: 'index', mediaType, bytes, digest, manifests: r.data.manifests, json: json! };
  }
  if (mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST) {
    const r = imageSchema.safeParse(json);
    if (!r.success) throw invalid(what, `not an image manifest (${r.error.issues[0]?.message ?? 'invalid'})`);
    return { kind: 'image', mediaType, bytes, digest, blobs: [r.data.config, ...r.data.layers].filter((d) => !isForeign(d)) };
  }
  return { kind: 'other', mediaType, bytes, digest, blobs: referencedBlobs(json) };
}

/**
 * The blobs an unknown manifest type references where image manifests keep them (`config`, `layers`,
 * and `blobs` of the withdrawn OCI artifact manifest): a target checks them before taking the manifest.
 * Anything that is not a descriptor there is left alone — such a manifest is opaque to Ferry.
 */
function referencedBlobs(json: Record<string, unknown> | null): Descriptor[] {
  if (!json) return [];
  const candidates = [json['config'], ...(Array.isArray(json['layers']) ? json['layers'] : []), ...(Array.isArray(json['blobs']) ? json['blobs'] : [])];
  return candidates.flatMap((c) => {
    const r = descriptorSchema.safeParse(c);
    return r.success && !isForeign(r.data) ? [r.data] : [];
  });
}

/** `linux/arm64/v8` against a descriptor's platform. */
export function platformMatches(platform: Descriptor['platform'], wanted: string): boolean {
  if (!platform) return false;
  const [os, architecture, variant] = wanted.split('/');
  return platform.os === os && platform.architecture === architecture && (variant === undefined || platform.variant === variant);
}

/**
 * A new index with only the wanted platforms (and the attestation manifests buildx attaches to them),
 * same media type and other fields as the source; PLATFORM_UNKNOWN when one is not in the index.
 */
export function filterIndex(index: Extract<Manifest, { kind: 'index' }>, platforms: readonly string[], what: string): Extract<Manifest, { kind: 'index' }> {
  const missing = platforms.filter((p) => !index.manifests.some((d) => platformMatches(d.platform, p)));
  if (missing.length) {
    const present = index.manifests.flatMap((d) => (d.platform ? [[d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/')] : []));
    throw new CopyError('PLATFORM_UNKNOWN', `${what} has no ${missing.join(', ')} (it has ${present.join(', ') || 'no platforms'})`, false);
  }
  const kept = index.manifests.filter((d) => platforms.some((p) => platformMatches(d.platform, p)));
  const keptDigests = new Set(kept.map((d) => d.digest));
  const attestations = index.manifests.filter((d) => {
    const ref = d.annotations?.['vnd.docker.reference.digest'];
    return ref !== undefined && keptDigests.has(ref) && !keptDigests.has(d.digest);
  });
  const manifests = index.manifests.filter((d) => keptDigests.has(d.digest) || attestations.includes(d));
  const rawManifests = (index.json['manifests'] as unknown[]).filter((_, i) => manifests.includes(index.manifests[i]!));
  const json = { ...index.json, manifests: rawManifests };
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  return { kind: 'index', mediaType: index.mediaType, bytes, digest: digestOf(bytes, index.digest), manifests, json };
}
