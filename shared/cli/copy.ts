/**
 * `ferry copy <src> <dst>`: one image, registry to registry, with the engine the copy provider uses.
 * References are `[http(s)://]host[:port]/repository[:tag|@digest]`; Docker Hub short names
 * (`nginx`, `user/app`) mean registry-1.docker.io. Loopback hosts default to http, others to https.
 */
import { CopyError, copyImage, type CopyProgress, type ImageRef, type RegistryCredentials } from '../copy/index.ts';

export class CopyUsageError extends Error {}

export interface ParsedRef {
  url: string;
  host: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

const DOCKER_HUB = { url: 'https://registry-1.docker.io', host: 'docker.io' };
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

/** Parses an image reference, naming the argument (`source`, `destination`) in every complaint. */
export function parseImageRef(text: string, what: string): ParsedRef {
  let rest = text;
  let scheme: string | undefined;
  const m = /^(https?):\/\//i.exec(rest);
  if (m) {
    scheme = m[1]!.toLowerCase();
    rest = rest.slice(m[0].length);
  }
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new CopyUsageError(`${what}: "${digest}" is not a digest (sha256:<64 hex digits>)`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const bare = rest.split(':')[0]!;
  if (slash < 0 && (scheme !== undefined || bare.includes('.') || bare === 'localhost')) throw new CopyUsageError(`${what}: "${text}" names no repository (host/repository[:tag])`);
  const isHost = scheme !== undefined || first.includes('.') || first.includes(':') || first === 'localhost';
  let host: string;
  let path: string;
  if (isHost) {
    host = first;
    path = rest.slice(slash + 1);
  } else {
    host = DOCKER_HUB.host;
    path = rest.includes('/') ? rest : `library/${rest}`;
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw new CopyUsageError(`${what}: "${tag}" is not a tag (letters, digits, "_", "." and "-", at most 128)`);
  }
  if (!REPOSITORY.test(path)) throw new CopyUsageError(`${what}: "${path}" is not a repository (lowercase letters and digits, separated by ".", "_", "-" or "/")`);
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[::1\](?::\d{1,5})?$/.test(host)) throw new CopyUsageError(`${what}: "${host}" is not a registry host`);
  const url = host === DOCKER_HUB.host && !scheme ? DOCKER_HUB.url : `${scheme ?? (LOOPBACK.test(host) ? 'http' : 'https')}://${host}`;
  return { url, host, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `user:password` (the password may contain ":"), from a flag or an environment variable. */
export function parseCreds(value: string | undefined, what: string): RegistryCredentials | null {
  if (value === undefined) return null;
  const colon = value.indexOf(':');
  if (colon <= 0) throw new CopyUsageError(`${what}: must be user:password`);
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

export interface CopyRequest {
  src: ParsedRef;
  dst: ParsedRef;
  srcCreds: RegistryCredentials | null;
  dstCreds: RegistryCredentials | null;
  platforms?: string[] | undefined;
  referrers: boolean;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export function copyRequest(
  args: string[],
  v: { platform?: string[] | undefined; referrers?: boolean | undefined; 'src-creds'?: string | undefined; 'dest-creds'?: string | undefined },
  env: Record<string, string | undefined>,
): CopyRequest {
  if (args.length < 2) throw new CopyUsageError('missing <source> <destination>');
  if (args.length > 2) throw new CopyUsageError(`unexpected argument "${args[2]}"`);
  const src = parseImageRef(args[0]!, 'source');
  if (!src.tag && !src.digest) src.tag = 'latest';
  const dst = parseImageRef(args[1]!, 'destination');
  if (dst.digest) throw new CopyUsageError('destination: give a tag, not a digest (the copy writes a tag)');
  if (!dst.tag) dst.tag = src.tag;
  if (!dst.tag) throw new CopyUsageError('destination: give a tag (the source names only a digest)');
  for (const p of v.platform ?? []) if (!PLATFORM.test(p)) throw new CopyUsageError(`--platform: "${p}" must be os/arch or os/arch/variant, e.g. linux/amd64`);
  return {
    src,
    dst,
    srcCreds: parseCreds(v['src-creds'] ?? (env.FERRY_SRC_CREDS || undefined), v['src-creds'] !== undefined ? '--src-creds' : 'FERRY_SRC_CREDS'),
    dstCreds: parseCreds(v['dest-creds'] ?? (env.FERRY_DEST_CREDS || undefined), v['dest-creds'] !== undefined ? '--dest-creds' : 'FERRY_DEST_CREDS'),
    ...(v.platform?.length ? { platforms: v.platform } : {}),
    referrers: v.referrers ?? false,
  };
}

const MB = 1024 * 1024;

/** One line, redrawn: `[#####-----]  45%  12.3/27.1 MB  3/7 blobs  blobs`. */
export function progressLine(p: CopyProgress): string {
  const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.phase === 'tag' ? 1 : 0;
  const width = 24;
  const filled = Math.round(ratio * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  return `[${bar}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${(p.bytesDone / MB).toFixed(1)}/${(p.bytesTotal / MB).toFixed(1)} MB  ${p.blobsDone}/${p.blobsTotal} blobs  ${p.phase}`;
}

function imageRef(r: ParsedRef, creds: RegistryCredentials | null): ImageRef {
  return { registry: { url: r.url, name: r.host, login: async () => creds }, repository: r.repository, tag: r.tag, digest: r.digest };
}

export type CopyOutcome = { ok: true; sourceDigest: string; targetDigest: string; stats: Record<string, unknown> } | { ok: false; code: string; message: string };

/** Runs the copy; `onProgress` is called as the engine reports. */
export async function runCopy(req: CopyRequest, onProgress?: (p: CopyProgress) => void): Promise<CopyOutcome> {
  try {
    const r = await copyImage(imageRef(req.src, req.srcCreds), imageRef(req.dst, req.dstCreds), { platforms: req.platforms, referrers: req.referrers }, onProgress ? { progress: onProgress } : {});
    if (r.status !== 'done') return { ok: false, code: 'STOPPED', message: `the copy stopped (${r.status})` };
    return { ok: true, sourceDigest: r.sourceDigest, targetDigest: r.targetDigest, stats: { ...r.stats } };
  } catch (err) {
    if (err instanceof CopyError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}
