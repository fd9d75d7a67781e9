import { pipeline } from 'node:stream/promises';
import { isDigest } from './digest.ts';
import { OciError } from './errors.ts';
import { rangeOf, reply, type RegistryContext } from './http.ts';

/** Blob reads and the upload protocol (sessions, chunks, monolithic, cross-repository mounts). */

function blobLocation(name: string, digest: string): string {
  return `/v2/${name}/blobs/${digest}`;
}

function uploadLocation(name: string, uuid: string): string {
  return `/v2/${name}/blobs/uploads/${uuid}`;
}

function requireDigest(value: string | null): string {
  if (!value || !isDigest(value)) throw new OciError(400, 'DIGEST_INVALID', 'digest is missing or not a valid digest', { digest: value });
  return value;
}

function refusePush(ctx: RegistryContext): void {
  const reason = ctx.policy.pushRefusal(ctx.name);
  if (reason) throw new OciError(403, 'DENIED', reason, { name: ctx.name });
}

export async function getBlob(ctx: RegistryContext, digest: string, head: boolean): Promise<void> {
  if (!isDigest(digest)) throw new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest });
  const size = await ctx.storage.blobSize(ctx.name, digest);
  if (size === null) throw new OciError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  const headers = { 'content-type': 'application/octet-stream', 'content-length': size, 'docker-content-digest': digest, etag: `"${digest}"` };
  if (head) return reply(ctx.res, 200, headers);
  ctx.res.writeHead(200, headers);
  await pipeline(ctx.storage.openBlob(digest), ctx.res);
}

/** `POST /v2/<name>/blobs/uploads/`: a mount, a monolithic upload (`?digest=`), or a new session. */
export async function startUpload(ctx: RegistryContext): Promise<void> {
  refusePush(ctx);
  const mount = ctx.query.get('mount');
  const from = ctx.query.get('from');
  if (mount && isDigest(mount) && from && from !== ctx.name && ctx.canPull(from)) {
    if ((await ctx.storage.blobSize(from, mount)) !== null) {
      await ctx.storage.linkBlob(ctx.name, mount);
      ctx.req.resume();
      return reply(ctx.res, 201, { location: blobLocation(ctx.name, mount), 'docker-content-digest': mount });
    }
  }
  const uuid = await ctx.storage.createUpload(ctx.name);
  const digest = ctx.query.get('digest');
  if (digest !== null) return finish(ctx, uuid, requireDigest(digest));
  ctx.req.resume();
  reply(ctx.res, 202, { location: uploadLocation(ctx.name, uuid), range: rangeOf(0), 'docker-upload-uuid': uuid });
}

async function sessionSize(ctx: RegistryContext, uuid: string): Promise<number> {
  const size = await ctx.storage.uploadSize(ctx.name, uuid);
  if (size === null) throw new OciError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
  return size;
}

/** A chunk must start where the session ends (`Content-Range: <start>-<end>`, inclusive). */
function checkChunk(ctx: RegistryContext, uuid: string, size: number): void {
  const raw = ctx.req.headers['content-range'];
  if (raw === undefined) return;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(raw.trim());
  const outOfOrder = { range: rangeOf(size), location: uploadLocation(ctx.name, uuid), 'docker-upload-uuid': uuid };
  if (!m) throw new OciError(416, 'RANGE_INVALID', `Content-Range "${raw}" is not <start>-<end>`, null, outOfOrder);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start !== size || end < start) throw new OciError(416, 'RANGE_INVALID', `chunk starts at ${start}, the upload has ${size} bytes`, null, outOfOrder);
  const length = ctx.req.headers['content-length'];
  if (length !== undefined && Number(length) !== end - start + 1) {
    throw new OciError(400, 'SIZE_INVALID', `Content-Length ${length} does not match Content-Range ${raw}`);
  }
}

export async function patchUpload(ctx: RegistryContext, uuid: string): Promise<void> {
  refusePush(ctx);
  const size = await sessionSize(ctx, uuid);
  checkChunk(ctx, uuid, size);
  const after = await ctx.storage.appendUpload(uuid, ctx.req);
  reply(ctx.res, 202, { location: uploadLocation(ctx.name, uuid), range: rangeOf(after), 'docker-upload-uuid': uuid });
}

export async function uploadStatus(ctx: RegistryContext, uuid: string): Promise<void> {
  const size = await sessionSize(ctx, uuid);
  reply(ctx.res, 204, { location: uploadLocation(ctx.name, uuid), range: rangeOf(size), 'docker-upload-uuid': uuid });
}

/** `PUT <location>?digest=`: the optional last chunk, then the digest check. */
export async function putUpload(ctx: RegistryContext, uuid: string): Promise<void> {
  refusePush(ctx);
  const size = await sessionSize(ctx, uuid);
  const digest = requireDigest(ctx.query.get('digest'));
  checkChunk(ctx, uuid, size);
  await finish(ctx, uuid, digest);
}

async function finish(ctx: RegistryContext, uuid: string, digest: string): Promise<void> {
  await ctx.storage.appendUpload(uuid, ctx.req);
  await ctx.storage.finishUpload(ctx.name, uuid, digest);
  reply(ctx.res, 201, { location: blobLocation(ctx.name, digest), 'docker-content-digest': digest });
}

export async function cancelUpload(ctx: RegistryContext, uuid: string): Promise<void> {
  await sessionSize(ctx, uuid);
  await ctx.storage.deleteUpload(uuid);
  reply(ctx.res, 204);
}
