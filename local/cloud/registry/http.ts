import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryStorage } from './storage.ts';

/** What a route handler gets: the request, where to answer, the repository's storage and policy. */
export interface RegistryContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** Repository name, e.g. `team/app`. */
  name: string;
  storage: RegistryStorage;
  policy: RegistryPolicy;
  /** Whether the caller's token may pull from another repository (cross-repository mounts). */
  canPull(name: string): boolean;
}

/** What the cloud behind a registry decides: where pushes may go, and what a new tag does. */
export interface RegistryPolicy {
  /** Why a push into `name` is refused (unknown namespace, bad name), or null. */
  pushRefusal(name: string): string | null;
  /** A manifest was pushed under a tag: the cloud records it and fires its triggers (without holding up the answer). */
  onTag?(name: string, tag: string, digest: string, size: number): void;
}

export function reply(res: ServerResponse, status: number, headers: Record<string, string | number> = {}, body?: string | Buffer): void {
  const payload = body ?? '';
  res.writeHead(status, { 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** `0-<last byte>` as distribution writes it (`0-0` for an empty session). */
export function rangeOf(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/** Reads a small body (manifests) whole, refusing more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
