/** Which distribution API route a path names; `<name>` may contain `/`. */
export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

/** The OCI distribution spec's repository name grammar. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

const PATTERNS: [RegExp, (name: string, arg: string) => RegistryRoute][] = [
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (name, reference) => ({ kind: 'manifest', name, reference })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?()$/, (name) => ({ kind: 'uploads', name })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (name, uuid) => ({ kind: 'upload', name, uuid })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: 'blob', name, digest })],
  [/^\/v2\/(.+)\/tags\/list$/, (name) => ({ kind: 'tags', name })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: 'referrers', name, digest })],
];

/** The route, `invalid-name` when the path has a route's shape but a bad name, or null. */
export function parseRoute(path: string): RegistryRoute | 'invalid-name' | null {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  for (const [pattern, make] of PATTERNS) {
    const m = pattern.exec(path);
    if (!m) continue;
    let name: string;
    let arg: string;
    try {
      name = decodeURIComponent(m[1]!);
      arg = decodeURIComponent(m[2]!);
    } catch {
      return 'invalid-name';
    }
    return NAME.test(name) && name.length <= 255 ? make(name, arg) : 'invalid-name';
  }
  return null;
}
