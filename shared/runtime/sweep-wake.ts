/**
 * The deployed webhook's way to wake the sweep: an asynchronous InvokeFunction of the sweep function
 * (its service and name in FERRY_SWEEP_SERVICE / FERRY_SWEEP_FUNCTION, set at deploy), signed with the
 * function role's credentials, the event shaped like the sweep's timer events. Unset names: no wakes,
 * the timer alone runs the sweep. FERRY_FC_ENDPOINT overrides the endpoint (the local cloud).
 */
import { invokeFunctionAsync, fcEndpoint } from '../clients/fc.ts';
import type { Deps } from '../replicate/deps.ts';
import { sweepWaker } from '../webhook/wake.ts';
import { currentAccountId, currentCredentials, currentRegion } from './invocation.ts';

export const WAKE_TRIGGER_NAME = 'ferry-webhook-wake';
/** The webhook's answer waits for the wake (FC answers an async invoke with 202 at once); never longer than this. */
const WAKE_TIMEOUT_MS = 1_000;

export function fcSweepWake(deps: Pick<Deps, 'clock' | 'log' | 'ledger'>, env: Record<string, string | undefined> = process.env): (() => Promise<void>) | undefined {
  const service = env.FERRY_SWEEP_SERVICE;
  const fn = env.FERRY_SWEEP_FUNCTION;
  if (!service || !fn) return undefined;
  const waker = sweepWaker({
    clock: deps.clock,
    log: deps.log,
    isRunning: () => deps.ledger.metrics.sweepRunning(),
    wake: async () => {
      const accountId = currentAccountId();
      const region = currentRegion();
      const creds = currentCredentials();
      if (!accountId || !region || !creds) throw new Error('the invocation context names no account, region or role credentials');
      const event = JSON.stringify({ triggerTime: new Date(deps.clock.now()).toISOString(), triggerName: WAKE_TRIGGER_NAME, payload: '' });
      await invokeFunctionAsync(
        { endpoint: env.FERRY_FC_ENDPOINT || fcEndpoint(accountId, region), accountId, credentials: () => creds, clock: deps.clock, timeoutMs: WAKE_TIMEOUT_MS },
        service,
        fn,
        event,
      );
    },
  });
  return waker.wake;
}
