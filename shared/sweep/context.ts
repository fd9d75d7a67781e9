import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Clouds } from '../replicate/clouds.ts';
import { RepoIdCache } from '../replicate/clouds.ts';
import type { Deps } from '../replicate/deps.ts';

/** Counts of one sweep run: ledger transitions (`from→to`), cloud calls (`acr:ListRepoSyncTask`), other events. */
export class SweepStats {
  readonly transitions: Record<string, number> = {};
  readonly cloudCalls: Record<string, number> = {};
  readonly events: Record<string, number> = {};
  errors = 0;

  transition(from: string, to: string, n = 1): void {
    if (n > 0) this.transitions[`${from}→${to}`] = (this.transitions[`${from}→${to}`] ?? 0) + n;
  }
  call(api: string): void {
    this.cloudCalls[api] = (this.cloudCalls[api] ?? 0) + 1;
  }
  event(name: string, n = 1): void {
    if (n > 0) this.events[name] = (this.events[name] ?? 0) + n;
  }
  get totalCloudCalls(): number {
    return Object.values(this.cloudCalls).reduce((a, b) => a + b, 0);
  }
}

const PRODUCTS = ['acr', 'ecs', 'swr'] as const;

/** The stats of the sweep run the current async context belongs to (concurrent runs stay apart). */
export const currentStats = new AsyncLocalStorage<SweepStats>();

/**
 * A view of `clouds` whose client methods count each logical call into `stats()` (a client's own
 * transport retries are not counted separately). Lives here so Ferry's shared Clouds stays as is.
 */
export function countingClouds(clouds: Clouds, stats: () => SweepStats | undefined = () => currentStats.getStore()): Clouds {
  const wrapped = new Map<object, object>();
  const wrap = <T extends object>(product: string, client: T): T => {
    let w = wrapped.get(client);
    if (!w) {
      w = new Proxy(client, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
          const api = `${product}:${prop.charAt(0).toUpperCase()}${prop.slice(1)}`;
          return (...args: unknown[]) => {
            stats()?.call(api);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      wrapped.set(client, w);
    }
    return w as T;
  };
  const view: Record<string, unknown> = {};
  for (const p of PRODUCTS) view[p] = (region: string) => wrap(p, (clouds[p] as (r: string) => object).call(clouds, region));
  return view as unknown as Clouds;
}

interface Counted {
  clouds: Clouds;
  repoIds: RepoIdCache;
}
const countedByClouds = new WeakMap<Clouds, Counted>();

/** One counting view (and RepoId cache over it) per Clouds, kept for the instance's life. */
function countedFor(clouds: Clouds): Counted {
  let c = countedByClouds.get(clouds);
  if (!c) {
    const view = countingClouds(clouds);
    c = { clouds: view, repoIds: new RepoIdCache(view) };
    countedByClouds.set(clouds, c);
  }
  return c;
}

export interface SweepOptions {
  /** Wall time this run may use (default config.sweep.budgetMs). */
  budgetMs?: number;
  /** Monotonic-ish milliseconds for the budget (default performance.now). Ledger times come from deps.clock. */
  now?: () => number;
  signal?: AbortSignal;
  /** Lease owner for this run (default `<workerId>:<random>`: two runs in one process never share leases). */
  owner?: string;
}

export interface SweepContext {
  deps: Deps;
  owner: string;
  stats: SweepStats;
  /** Counting views: use these for every cloud call of the run. */
  clouds: Clouds;
  repoIds: RepoIdCache;
  /** Lease length for tasks claimed by this run: past its end a crashed run's work is claimable again. */
  leaseMs: number;
  /** True while there is time to start work that needs the cloud (keeps a reserve for notifications). */
  hasTime(): boolean;
  /** True while any time is left at all. */
  hasAnyTime(): boolean;
  remainingMs(): number;
  /** Ledger/virtual time, ms. */
  now(): number;
  log: Deps['log'];
}

/** Builds a run's context; run the sweep inside `currentStats.run(ctx.stats, …)` so cloud calls are counted. */
export function createContext(deps: Deps, opts: SweepOptions = {}): { ctx: SweepContext; elapsed: () => number } {
  const budgetMs = opts.budgetMs ?? deps.config.sweep.budgetMs;
  const wall = opts.now ?? (() => performance.now());
  const started = wall();
  const reserve = Math.min(5_000, budgetMs * 0.2);
  const stats = new SweepStats();
  const counted = countedFor(deps.clouds);
  const remainingMs = () => budgetMs - (wall() - started);
  const aborted = () => opts.signal?.aborted ?? false;
  const owner = opts.owner ?? `${deps.workerId}:${randomUUID().slice(0, 8)}`;
  const ctx: SweepContext = {
    deps,
    owner,
    stats,
    clouds: counted.clouds,
    repoIds: counted.repoIds,
    leaseMs: budgetMs + 60_000,
    hasTime: () => !aborted() && remainingMs() > reserve,
    hasAnyTime: () => !aborted() && remainingMs() > 0,
    remainingMs,
    now: () => deps.clock.now(),
    log: deps.log,
  };
  return { ctx, elapsed: () => wall() - started };
}
