import { randomUUID } from 'node:crypto';
import type { AlibabaCredentials } from '../clients/credentials.ts';
import type { Clock } from '../clock.ts';
import type { FerryConfig } from '../config/index.ts';
import { EcsClients } from '../ecs/clients.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import { Connections } from '../providers/connections.ts';
import { InstanceState } from '../providers/instance-state.ts';

/** Everything a Ferry function needs, built once per instance (cold start) and shared by invocations. */
export interface Deps {
  config: FerryConfig;
  ledger: Ledger;
  /** The registered providers, connected to their clouds on first use. */
  clouds: Connections;
  /** ECS image import/export tasks (watched by the sweep, cancelled by the operator). */
  ecs: EcsClients;
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
  /** The function role's temporary credentials (FC context), used when the config names no keys. */
  invocationCredentials?: () => AlibabaCredentials | undefined;
  env?: Record<string, string | undefined>;
  workerId?: string;
  random?: () => number;
  cloudTimeoutMs?: number;
}

/** The composition root: the deployed functions (runtime/bootstrap.ts), the local stack and the tests all build their dependencies here. */
export function makeDeps(input: DepsInput): Deps {
  if (input.config.kms && !input.config.kms.resolved) {
    throw new Error(`the config's \${kms:…} secrets (${input.config.kms.refs.map((r) => r.name).join(', ')}) are not resolved: load it with loadResolvedConfig`);
  }
  const connect = {
    config: input.config,
    copyJobs: input.ledger.copyJobs,
    clock: input.clock,
    env: input.env ?? process.env,
    runtimeCredentials: input.invocationCredentials,
    timeoutMs: input.cloudTimeoutMs,
    instanceState: new InstanceState(),
  };
  return {
    config: input.config,
    ledger: input.ledger,
    clouds: new Connections(connect),
    ecs: new EcsClients(connect),
    clock: input.clock,
    log: input.log,
    workerId: input.workerId ?? `ferry-${randomUUID().slice(0, 8)}`,
    random: input.random ?? Math.random,
  };
}
