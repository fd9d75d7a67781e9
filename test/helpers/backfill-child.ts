/**
 * A backfill in its own process, for the kill test: the parent's local cloud (argv[2]) and PostgreSQL
 * schema (argv[3], argv[4]); prints `@@result {json}` when done (it is usually killed before).
 */
import { checkBackfill } from '../../shared/backfill/request.ts';
import { runBackfill } from '../../shared/backfill/run.ts';
import { configureAccountLimiters } from '../../shared/clients/transport.ts';
import { parseConfig } from '../../shared/config/index.ts';
import { Ledger, openLedgerDb } from '../../shared/ledger/index.ts';
import { createLogger } from '../../shared/log.ts';
import { makeDeps } from '../../shared/replicate/deps.ts';
import { backfillRules } from './backfill-fixture.ts';
import { baseConfig, TEST_ENV } from './stack.ts';

const [cloudUrl, databaseUrl, searchPath] = process.argv.slice(2) as [string, string, string];
configureAccountLimiters({ maxConcurrent: 8, ratePerSecond: 5000, burst: 5000 });
const config = parseConfig(backfillRules(baseConfig(cloudUrl)), TEST_ENV);
const ledger = new Ledger(await openLedgerDb({ databaseUrl, searchPath }));
const deps = makeDeps({ config, ledger, clock: { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log: createLogger({ test: true }, 'error'), env: TEST_ENV, workerId: 'child' });
const checked = checkBackfill({}, config, Date.now());
if (!checked.ok) throw new Error(checked.message);
const result = await runBackfill(deps, checked.plan, { owner: 'child', hasTime: () => true });
process.stdout.write(`@@result ${JSON.stringify(result.summary)}\n`);
await ledger.close();
