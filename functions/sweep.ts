// FC entry: timer-driven reconciliation (trigger `ferry-sweep-timer`, created by deploy/ferry-fc-plugin.cjs).
// Handler: dist/sweep/index.handler
import { runSweep } from '../shared/sweep/run.ts';
import { getDeps } from '../shared/runtime/bootstrap.ts';
import { timerHandler } from '../shared/runtime/handler.ts';

export const handler = timerHandler(() => getDeps().then((deps) => () => runSweep(deps)));
