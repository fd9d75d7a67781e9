/** skopeo against the test registries (plain http on loopback, no signature policy). */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BuildOptions, type BuiltImage, buildOciImage } from './oci-layout.ts';

const run = promisify(execFile);

export interface Creds {
  username: string;
  password: string;
}

/** `<host>/<repo>:<tag>` (or `@<digest>`) → skopeo's `docker://` reference. */
const docker = (ref: string) => `docker://${ref}`;

/** Pushes an OCI layout (every platform, digests unchanged) to `ref` (`127.0.0.1:5000/team/app:v1`). */
export async function pushWithSkopeo(layoutDir: string, tag: string, ref: string, creds?: Creds): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--all', '--preserve-digests', '--quiet', '--dest-tls-verify=false'];
  if (creds) args.push('--dest-creds', `${creds.username}:${creds.password}`);
  await run('skopeo', [...args, `oci:${layoutDir}:${tag}`, docker(ref)], { maxBuffer: 16 << 20 });
}

/**
 * A random image (`buildOciImage`'s options) built in a temp layout, pushed to `ref`, the layout
 * removed: what was pushed, digests included.
 */
export async function pushNewImage(ref: string, opts: BuildOptions, creds?: Creds): Promise<Omit<BuiltImage, 'dir'>> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-image-'));
  try {
    const { dir: _, ...image } = await buildOciImage(dir, opts);
    await pushWithSkopeo(dir, image.tag, ref, creds);
    return image;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The raw manifest bytes `ref` names, as the registry serves them. */
export async function skopeoRaw(ref: string, creds?: Creds): Promise<Buffer> {
  const args = ['inspect', '--raw', '--tls-verify=false'];
  if (creds) args.push('--creds', `${creds.username}:${creds.password}`);
  const { stdout } = await run('skopeo', [...args, docker(ref)], { encoding: 'buffer', maxBuffer: 16 << 20 });
  return stdout;
}

/** The digest of the manifest `ref` names: sha256 of its raw bytes. */
export async function skopeoDigest(ref: string, creds?: Creds): Promise<string> {
  return `sha256:${createHash('sha256')
    .update(await skopeoRaw(ref, creds))
    .digest('hex')}`;
}

/** `skopeoDigest`, or null when the registry has no such manifest (a tag never written). */
export async function skopeoDigestOrNull(ref: string, creds?: Creds): Promise<string | null> {
  try {
    return await skopeoDigest(ref, creds);
  } catch (err) {
    if (/manifest unknown|not found/i.test(String((err as { stderr?: unknown }).stderr ?? ''))) return null;
    throw err;
  }
}
