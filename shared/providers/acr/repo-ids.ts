/**
 * ACR repository ids (GetRepository answers) for CreateRepoSyncTask and tag reads, kept per function
 * instance and shared by every invocation and every connection of it: a bounded LRU whose entries
 * expire, so a repository deleted and made again (a new id) heals within `ttlMs` at worst — sooner,
 * as a create that answers repository-not-found forgets the id it used. Concurrent lookups of one
 * repository share one request; a failed lookup is not kept.
 */
export interface RepoIdCacheOptions {
  /** Repositories remembered; the least recently used goes first. */
  maxEntries: number;
  ttlMs: number;
  now: () => number;
}

export const REPO_ID_CACHE_DEFAULTS = { maxEntries: 2_000, ttlMs: 15 * 60_000 };

interface Entry {
  id: Promise<string>;
  expiresAt: number;
}

export class RepoIdCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: RepoIdCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The id of `key`'s repository, from memory when fresh, else from `load` (one load per key at a time). */
  get(key: string, load: () => Promise<string>): Promise<string> {
    const now = this.options.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) {
      // Re-inserted: Map order is recency order, the first key the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.id;
    }
    const id = load();
    const entry = { id, expiresAt: now + this.options.ttlMs };
    id.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.put(key, entry);
    return id;
  }

  /** An id a listing gave: the next get() of it needs no request. */
  remember(key: string, id: string): void {
    this.put(key, { id: Promise.resolve(id), expiresAt: this.options.now() + this.options.ttlMs });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  private put(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
