/**
 * An image reference (`host[:port]/namespace/repository[:tag][@digest]`) as a push of a configured
 * source: the source whose registry has that host. Registries are those the copy provider would reach
 * (a cloud's from its provider, without logging in); a source whose registry the config cannot name is
 * skipped.
 */
import type { Source } from '../config/index.ts';
import { DOCKER_HUB_REGISTRY, Endpoints } from '../providers/copy/endpoints.ts';
import type { ConnectOptions } from '../providers/types.ts';
import type { PlanInput } from './plan.ts';

const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', new URL(DOCKER_HUB_REGISTRY).host];
const DIGEST = /^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/;

export type RefResult = { ok: true; input: PlanInput } | { ok: false; message: string };

export function planInputOfReference(ref: string, opts: ConnectOptions): RefResult {
  const text = ref.replace(/^[a-z]+:\/\//i, '');
  const slash = text.indexOf('/');
  const first = slash < 0 ? text : text.slice(0, slash);
  const hasHost = slash > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = (hasHost ? first : 'docker.io').toLowerCase();
  let rest = hasHost ? text.slice(slash + 1) : text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return { ok: false, message: `"${digest}" is not a digest (sha256: + 64 or sha512: + 128 lowercase hex digits)` };
  }
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined;
  const path = tag === undefined ? rest : rest.slice(0, colon);
  const parts = path.split('/');
  if (parts.length === 1 && DOCKER_HUB_HOSTS.includes(host)) parts.unshift('library');
  if (parts.length < 2 || parts.some((p) => p === '')) return { ok: false, message: `"${ref}" names no namespace/repository (expected host/namespace/repository[:tag][@digest])` };
  if (!tag && !digest) return { ok: false, message: `"${ref}" names neither a tag nor a digest` };
  const matches = opts.config.sources.filter((s) => hostsOf(s, opts).some((h) => sameHost(h, host)));
  if (matches.length === 0) return { ok: false, message: `no configured source has the registry ${host}; name the source instead` };
  if (matches.length > 1) return { ok: false, message: `sources ${matches.map((s) => s.name).join(', ')} all have the registry ${host}; name the source instead` };
  return { ok: true, input: { source: matches[0]!.name, namespace: parts[0]!, repository: parts.slice(1).join('/'), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) } };
}

function hostsOf(source: Source, opts: ConnectOptions): string[] {
  const hosts: string[] = [];
  if ('host' in source && source.host) hosts.push(source.host);
  try {
    hosts.push(new URL(new Endpoints(opts).of(source.name).url).host);
  } catch {
    // A registry the config cannot name (or reach without keys) is matched by its host field only.
  }
  if (source.kind === 'dockerhub') hosts.push(...DOCKER_HUB_HOSTS);
  return hosts;
}

function sameHost(configured: string, given: string): boolean {
  const a = configured.toLowerCase();
  return a === given || (!given.includes(':') && a.split(':')[0] === given && /:443$/.test(a));
}
