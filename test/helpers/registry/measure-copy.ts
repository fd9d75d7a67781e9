/**
 * Runs one copyImage in this (child) process and prints its result and memory as JSON:
 * `node --import tsx measure-copy.ts '<{"src":ImageRef-ish,"dst":…,"opts":…}>'` (logins anonymous).
 * `growth` is the peak RSS during the copy minus the peak before it (maxRSS is a high-water mark).
 */
import { copyImage, resolveDigest } from '../../../shared/copy/index.ts';

interface Side {
  url: string;
  repository: string;
  tag: string;
}
const { src, dst, opts } = JSON.parse(process.argv[2] ?? '{}') as { src: Side; dst: Side; opts?: { chunkBytes?: number; concurrency?: number } };
const side = (s: Side) => ({ registry: { url: s.url, name: s.url, login: async () => null }, repository: s.repository, tag: s.tag });

// Warm up (fetch, undici, the engine's modules) so that the baseline holds what any copy needs.
await resolveDigest(side(src));
await resolveDigest(side(dst));
const before = process.resourceUsage().maxRSS * 1024;
const started = Date.now();
const result = await copyImage(side(src), side(dst), opts ?? {});
const peak = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify({ result, baseline: before, peak, growth: peak - before, ms: Date.now() - started }));
