import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
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
  clock: Clock;
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

/** Builds a run's context; the run counts its cloud calls into `stats` (see run.ts). */
export function createContext(deps: Deps, opts: SweepOptions = {}): { ctx: SweepContext; elapsed: () => number } {
  const budgetMs = opts.budgetMs ?? deps.config.sweep.budgetMs;
  const wall = opts.now ?? (() => performance.now());
  const started = wall();
  const reserve = Math.min(5_000, budgetMs * 0.2);
  const stats = new SweepStats();
  const remainingMs = () => budgetMs - (wall() - started);
  const aborted = () => opts.signal?.aborted ?? false;
  const owner = opts.owner ?? `${deps.workerId}:${randomUUID().slice(0, 8)}`;
  const ctx: SweepContext = {
    deps,
    owner,
    stats,
    clock: deps.clock,
    leaseMs: budgetMs + 60_000,
    hasTime: () => !aborted() && remainingMs() > reserve,
    hasAnyTime: () => !aborted() && remainingMs() > 0,
    remainingMs,
    now: () => deps.clock.now(),
    log: deps.log,
  };
  return { ctx, elapsed: () => wall() - started };
}
