/**
 * The Ferry process is SIGKILLed at random points of a 10-target fan-out, ten times, then restarted.
 * The registry re-delivers a push whose delivery got no 2xx (as real senders do). In the end every
 * (image, target) is copied exactly once: the ledger's intents and the crash-window lookup, not luck.
 * Needs PostgreSQL (the ledger outlives the process): FERRY_TEST_DATABASE_URL or DATABASE_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger, openLedgerDb } from '../../shared/ledger/index.ts';
import { startLocalCloud, type LocalCloud } from '../../local/cloud/server.ts';
import { TEST_TOKENS } from '../helpers/stack.ts';
import { checkInvariants, expectedCopies, seedWith, SRC, type Harness } from './harness.ts';

const url = process.env.FERRY_TEST_DATABASE_URL || process.env.DATABASE_URL;
const schema = `ferry_kill_${randomBytes(4).toString('hex')}`;
const TARGETS = Array.from({ length: 10 }, (_, i) => `cri-killdst${String(i).padStart(3, '0')}`);
let cloud: LocalCloud | undefined;
let admin: pg.Client | undefined;
let child: ChildProcess | undefined;
let ledger: Ledger | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  await ledger?.close();
  await cloud?.close();
  if (admin) {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
});

function startChild(): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/ferry-child.ts'], {
    env: { ...process.env, CHAOS_CLOUD_URL: cloud!.url, CHAOS_TARGETS: JSON.stringify(TARGETS), DATABASE_URL: url!, CHAOS_SCHEMA: schema },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start in 30 s')), 30_000);
    proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = /^READY (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]! });
      }
    });
  });
}

async function deliver(base: string, payload: unknown): Promise<number> {
  try {
    const r = await request(`${base}/webhooks/acr?instance=${SRC}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.webhook}` },
      body: JSON.stringify(payload),
    });
    await r.body.text();
    return r.statusCode;
  } catch {
    return 0; // the process died mid-request
  }
}

describe.skipIf(!url)('chaos: SIGKILL', () => {
  it('killed at random points of a fan-out ten times, restarted: every copy exactly once', { timeout: 240_000 }, async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    cloud = await startLocalCloud({ port: 0, log: false, random: 7, seed: { ...seedWith(TARGETS), syncDurationMs: { min: 100, max: 400 } } });
    // Each CreateRepoSyncTask takes a while, so a fan-out spans the kill window.
    cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: 60 });
    const rng = (() => {
      let s = 12345;
      return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    })();

    const pushes = Array.from({ length: 10 }, (_, i) => ({ repo: 'app', tag: `v9.${i}` }));
    const pending: unknown[] = []; // payloads whose delivery got no 2xx: the registry sends them again
    let interrupted = 0;
    for (const p of pushes) {
      const payload = (await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: p.repo, tag: p.tag })).payload;
      const { proc, url: base } = await startChild();
      child = proc;
      const deliveries = [...pending.splice(0), payload].map(async (body) => {
        const status = await deliver(base, body);
        if (status < 200 || status >= 300) {
          interrupted++;
          pending.push(body);
        }
      });
      await new Promise((r) => setTimeout(r, 20 + rng() * 220));
      proc.kill('SIGKILL');
      await Promise.all(deliveries);
      await new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode ? r() : proc.once('exit', () => r())));
    }

    // Last restart: redeliver what never got a 2xx, then let the sweep finish everything.
    const { proc, url: base } = await startChild();
    child = proc;
    for (const body of pending.splice(0)) expect(await deliver(base, body)).toBeGreaterThanOrEqual(200);
    const db = await openLedgerDb({ databaseUrl: url!, searchPath: schema });
    ledger = new Ledger(db);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const open = await ledger.openTasks({ limit: 1 });
      const total = (await ledger.listTasks({ limit: 200 })).items.length;
      if (!open.length && total === pushes.length * TARGETS.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    proc.kill('SIGKILL');
    const report = await checkInvariants({ ledger, db, cloud } as unknown as Harness, expectedCopies(pushes, TARGETS), { requireNotification: false });
    const adopted = await db.query<{ n: string }>(`SELECT count(*) AS n FROM task_events WHERE reason LIKE 'adopted%'`);
    const inDoubt = await db.query<{ n: string }>(`SELECT count(DISTINCT task_id) AS n FROM task_events WHERE reason = 'submission started'`);
    console.log(`sigkill: ${interrupted} deliveries interrupted, ${adopted.rows[0]!.n} cloud tasks adopted after a crash, ${inDoubt.rows[0]!.n} tasks submitted`);
    expect(interrupted).toBeGreaterThanOrEqual(3); // the kills really landed mid-delivery
    expect(report.violations).toEqual([]);
    expect(report.succeeded).toBe(pushes.length * TARGETS.length);
    expect(cloud.acr.createCallCount()).toBeGreaterThanOrEqual(pushes.length * TARGETS.length);
  });
});
