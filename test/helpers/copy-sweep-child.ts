/**
 * One sweep in a process of its own, for the copy-resume test to kill mid-copy. Env: COPY_CONFIG (the
 * config document as JSON), DATABASE_URL, COPY_SCHEMA.
 */
import { systemClock } from '../../shared/clock.ts';
import { parseConfig } from '../../shared/config/index.ts';
import { Ledger } from '../../shared/ledger/index.ts';
import { createLogger } from '../../shared/log.ts';
import { makeDeps } from '../../shared/replicate/deps.ts';
import { runSweep } from '../../shared/sweep/run.ts';

const env = process.env;
const config = parseConfig(JSON.parse(env.COPY_CONFIG!), env);
const ledger = await Ledger.open({ databaseUrl: env.DATABASE_URL!, searchPath: env.COPY_SCHEMA! });
const deps = makeDeps({ config, ledger, clock: systemClock, log: createLogger({ pid: process.pid }, 'error'), workerId: `child-${process.pid}` });
process.stdout.write('SWEEPING\n');
await runSweep(deps);
await ledger.close();
process.stdout.write('DONE\n');
