// FC entry: timer-driven reconciliation (trigger `ferry-sweep-timer`, created by deploy/ferry-fc-plugin.cjs).
// Handler: dist/sweep/index.handler
import { runSweep } from '../shared/sweep/run.ts';
import { getDeps, rememberInvocation } from '../shared/runtime/bootstrap.ts';
import { timerHandler } from '../shared/runtime/handler.ts';

export const handler = timerHandler(async () => {
  const deps = await getDeps();
  return async (tick, ctx) => {
    rememberInvocation(ctx);
    deps.log.info('sweep tick', { requestId: ctx.requestId, trigger: tick.triggerName, triggerTime: tick.triggerTime.toISOString() });
    return runSweep(deps);
  };
});
