import { z } from 'zod';
import { digestOf, isDigest } from './digest.ts';
import { OciError } from './errors.ts';
import { readSmallBody, reply, type RegistryContext } from './http.ts';
import type { Descriptor } from './storage.ts';

/** Manifests (by tag or digest), tag listing and the OCI 1.1 referrers API. */

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const IMAGE_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** distribution's limit: a manifest is metadata, never content. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const descriptor = z.looseObject({ mediaType: z.string().optional(), digest: z.string().refine(isDigest, 'not a digest'), size: z.number().int().nonnegative() });
const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor.optional(),
  layers: z.array(descriptor).optional(),
  manifests: z.array(descriptor).optional(),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
type Manifest = z.output<typeof manifestSchema>;

async function notFound(ctx: RegistryContext, code: 'MANIFEST_UNKNOWN', message: string, detail: unknown): Promise<never> {
  if (!(await ctx.storage.repoExists(ctx.name))) throw new OciError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: ctx.name });
  throw new OciError(404, code, message, detail);
}

export async function getManifest(ctx: RegistryContext, reference: string, head: boolean): Promise<void> {
  const byDigest = isDigest(reference);
  if (!byDigest && !TAG.test(reference)) throw new OciError(400, 'MANIFEST_INVALID', 'invalid tag or digest', { reference });
  const digest = await ctx.storage.resolve(ctx.name, reference, byDigest);
  const m = digest ? await ctx.storage.getManifest(ctx.name, digest) : null;
  if (!m) return notFound(ctx, 'MANIFEST_UNKNOWN', 'manifest unknown', { reference });
  const headers = { 'content-type': m.mediaType, 'docker-content-digest': m.digest, etag: `"${m.digest}"` };
  if (head) return reply(ctx.res, 200, { ...headers, 'content-length': m.bytes.length });
  reply(ctx.res, 200, headers, m.bytes);
}

function parseManifest(bytes: Buffer, contentType: string | undefined): { manifest: Manifest; mediaType: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new OciError(400, 'MANIFEST_INVALID', 'manifest is not JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new OciError(400, 'MANIFEST_INVALID', `manifest invalid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const type = contentType?.split(';')[0]?.trim();
  const mediaType = type && type !== 'application/json' && type !== 'application/octet-stream' ? type : parsed.data.mediaType;
  if (!mediaType) throw new OciError(400, 'MANIFEST_INVALID', 'manifest media type unknown: send Content-Type or mediaType');
  if (parsed.data.mediaType !== undefined && parsed.data.mediaType !== mediaType) {
    throw new OciError(400, 'MANIFEST_INVALID', `Content-Type ${mediaType} differs from the manifest's mediaType ${parsed.data.mediaType}`);
  }
  return { manifest: parsed.data, mediaType };
}

/** Everything a manifest references must already be in the repository (blobs for an image, manifests for an index). */
async function checkReferences(ctx: RegistryContext, manifest: Manifest, mediaType: string): Promise<void> {
  if (INDEX_TYPES.has(mediaType)) {
    for (const child of manifest.manifests ?? []) {
      if (!(await ctx.storage.hasManifest(ctx.name, child.digest)))
        throw new OciError(400, 'MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest unknown to the repository', { digest: child.digest });
    }
    return;
  }
  const blobs = [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])];
  if (IMAGE_TYPES.has(mediaType) && !manifest.config) throw new OciError(400, 'MANIFEST_INVALID', 'an image manifest needs a config');
  for (const blob of blobs) {
    const size = await ctx.storage.blobSize(ctx.name, blob.digest);
    if (size === null) throw new OciError(400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', { digest: blob.digest });
    if (size !== blob.size) throw new OciError(400, 'MANIFEST_INVALID', `blob ${blob.digest} has ${size} bytes, the manifest says ${blob.size}`);
  }
}

export async function putManifest(ctx: RegistryContext, reference: string): Promise<void> {
  const reason = ctx.policy.pushRefusal(ctx.name);
  if (reason) throw new OciError(403, 'DENIED', reason, { name: ctx.name });
  const byDigest = isDigest(reference);
  if (!byDigest && !TAG.test(reference)) throw new OciError(400, 'MANIFEST_INVALID', 'invalid tag', { reference });
  const bytes = await readSmallBody(ctx.req, MAX_MANIFEST_BYTES);
  if (!bytes) throw new OciError(400, 'MANIFEST_INVALID', `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  const digest = digestOf(bytes, byDigest && reference.startsWith('sha512:') ? 'sha512' : 'sha256');
  if (byDigest && digest !== reference) throw new OciError(400, 'DIGEST_INVALID', 'manifest digest did not match', { expected: reference, actual: digest });
  const { manifest, mediaType } = parseManifest(bytes, ctx.req.headers['content-type']);
  await checkReferences(ctx, manifest, mediaType);
  const artifactType = manifest.artifactType ?? (IMAGE_TYPES.has(mediaType) ? manifest.config?.mediaType : undefined);
  const desc: Descriptor = {
    mediaType,
    digest,
    size: bytes.length,
    ...(artifactType ? { artifactType } : {}),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  const tag = byDigest ? undefined : reference;
  await ctx.storage.putManifest(ctx.name, { digest, mediaType, bytes }, { tag, subject: manifest.subject?.digest, descriptor: desc });
  const imageSize = bytes.length + [manifest.config, ...(manifest.layers ?? []), ...(manifest.manifests ?? [])].reduce((n, d) => n + (d?.size ?? 0), 0);
  if (tag !== undefined) ctx.policy.onTag?.(ctx.name, tag, digest, imageSize);
  reply(ctx.res, 201, {
    location: `/v2/${ctx.name}/manifests/${digest}`,
    'docker-content-digest': digest,
    ...(manifest.subject ? { 'oci-subject': manifest.subject.digest } : {}),
  });
}

/** By digest: the manifest and its tags; by tag: the tag only. */
export async function deleteManifest(ctx: RegistryContext, reference: string): Promise<void> {
  const deleted = isDigest(reference) ? await ctx.storage.deleteManifest(ctx.name, reference) : await ctx.storage.deleteTag(ctx.name, reference);
  if (!deleted) return notFound(ctx, 'MANIFEST_UNKNOWN', 'manifest unknown', { reference });
  reply(ctx.res, 202);
}

/** `GET /v2/<name>/tags/list?n=&last=`: lexical order, `Link` to the next page. */
export async function listTags(ctx: RegistryContext): Promise<void> {
  if (!(await ctx.storage.repoExists(ctx.name))) throw new OciError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: ctx.name });
  const last = ctx.query.get('last');
  const rawN = ctx.query.get('n');
  if (rawN !== null && !/^\d+$/.test(rawN)) throw new OciError(400, 'UNSUPPORTED', 'n must be a non-negative integer', { n: rawN });
  const all = (await ctx.storage.tags(ctx.name)).filter((t) => last === null || t > last);
  const n = rawN === null ? all.length : Number(rawN);
  const page = all.slice(0, n);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (page.length < all.length && page.length > 0) {
    headers.link = `</v2/${ctx.name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
  }
  reply(ctx.res, 200, headers, JSON.stringify({ name: ctx.name, tags: page }));
}

/** OCI 1.1: an index of the manifests whose `subject` is `digest` (empty when none). */
export async function listReferrers(ctx: RegistryContext, digest: string): Promise<void> {
  if (!isDigest(digest)) throw new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest });
  const artifactType = ctx.query.get('artifactType');
  const all = await ctx.storage.referrers(ctx.name, digest);
  const manifests = artifactType === null ? all : all.filter((d) => d.artifactType === artifactType);
  const headers: Record<string, string> = { 'content-type': OCI_INDEX };
  if (artifactType !== null) headers['oci-filters-applied'] = 'artifactType';
  reply(ctx.res, 200, headers, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}
