import { randomUUID } from 'node:crypto';
import type { FerryConfig } from '../config/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { AlibabaCredentials } from '../clients/credentials.ts';
import { Clouds, RepoIdCache } from './clouds.ts';

/** Everything a Ferry function needs, built once per instance (cold start) and shared by invocations. */
export interface Deps {
  config: FerryConfig;
  ledger: Ledger;
  clouds: Clouds;
  repoIds: RepoIdCache;
  clock: Clock;
  log: Logger;
  /** Names this process as a lease owner in the ledger. */
  workerId: string;
  random: () => number;
}

export interface DepsInput {
  config: FerryConfig;
  ledger: Ledger;
  clock: Clock;
  log: Logger;
  invocationCredentials?: () => AlibabaCredentials | undefined;
  env?: Record<string, string | undefined>;
  workerId?: string;
  random?: () => number;
  cloudTimeoutMs?: number;
}

export function makeDeps(input: DepsInput): Deps {
  const clouds = new Clouds({
    config: input.config,
    clock: input.clock,
    ...(input.invocationCredentials ? { invocationCredentials: input.invocationCredentials } : {}),
    ...(input.env ? { env: input.env } : {}),
    ...(input.cloudTimeoutMs ? { timeoutMs: input.cloudTimeoutMs } : {}),
  });
  return {
    config: input.config,
    ledger: input.ledger,
    clouds,
    repoIds: new RepoIdCache(clouds),
    clock: input.clock,
    log: input.log,
    workerId: input.workerId ?? `ferry-${randomUUID().slice(0, 8)}`,
    random: input.random ?? Math.random,
  };
}
