// A copy whose process is SIGKILLed with a layer in flight resumes in the next process from the
// checkpoint in the ledger: layers already at the target are not fetched or sent again.
// PostgreSQL (FERRY_TEST_DATABASE_URL): both processes share the ledger.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../shared/clock.ts';
import { parseConfig } from '../shared/config/index.ts';
import { Ledger } from '../shared/ledger/index.ts';
import { createLogger } from '../shared/log.ts';
import { makeDeps, type Deps } from '../shared/replicate/deps.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { blobGet, blobGets, type FaultProxy, pushNewImage, type Registry, skopeoDigest, skopeoDigestOrNull, startFaultProxy, startRegistry } from './helpers/registry/index.ts';
import { until } from './helpers/until.ts';
import { PG_URL } from './ledger-fixtures.ts';

const TOKEN = 'resume-webhook-token-0123456789';
const schema = `copy_resume_${randomBytes(4).toString('hex')}`;
let a: Registry;
let b: Registry;
let proxy: FaultProxy;
let ledger: Ledger;
let deps: Deps;
let webhook: NodeServer;
let child: ChildProcess | undefined;
/** The parent's clock can jump past the killed process's leases. */
let offset = 0;
const clock: Clock = { now: () => Date.now() + offset, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
let doc: Record<string, unknown>;

describe.skipIf(!PG_URL)('a copy killed mid-blob resumes in another process', () => {
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    a = await startRegistry();
    b = await startRegistry();
    proxy = await startFaultProxy(a.url);
    doc = {
      sources: [
        { kind: 'distribution', name: 'reg-a', host: a.host, url: proxy.url },
        { kind: 'distribution', name: 'reg-b', url: b.url },
      ],
      rules: [{ name: 'a-to-b', source: 'reg-a', targets: [{ provider: 'copy', registry: 'reg-b' }] }],
      auth: { webhookTokens: ['${RESUME_TOKEN}'] },
      sweep: { graceSeconds: 0, budgetMs: 15_000, batchSize: 50 },
    };
    const config = parseConfig(doc, { RESUME_TOKEN: TOKEN });
    ledger = await Ledger.open({ databaseUrl: PG_URL, searchPath: schema, now: clock.now });
    deps = makeDeps({ config, ledger, clock, log: createLogger({ test: true }, 'error'), workerId: 'parent' });
    webhook = await serveNode(createWebhookApp(deps));
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await webhook?.close();
    await ledger?.close();
    await proxy?.close();
    await a?.stop();
    await b?.stop();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('SIGKILL with the big layer in flight; the next sweep copies only what was missing', async () => {
    await pushNewImage(`${a.host}/team/app:v1`, { layers: [1500, 1600, 1700, 2_000_000] });
    const digest = await skopeoDigest(`${a.host}/team/app:v1`);
    const event = {
      events: [
        {
          id: 'e1',
          action: 'push',
          timestamp: new Date().toISOString(),
          target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, repository: 'team/app', tag: 'v1' },
          request: { host: a.host },
        },
      ],
    };
    const posted = await fetch(`${webhook.url}/webhooks/distribution`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(posted.status).toBe(202);
    const taskId = ((await posted.json()) as any).replications[0].targets[0].taskId as string;
    const ref = `copy:${taskId}:1`;

    // The layers as registry A serves them, smallest first.
    const res = await fetch(`${a.url}/v2/team/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' } });
    const pushed = ((await res.json()) as { layers: { digest: string; size: number }[] }).layers.sort((x, y) => x.size - y.size);
    const big = pushed.at(-1)!.digest;
    const small = pushed.slice(0, -1).map((l) => l.digest);
    // The big layer's download is held back (30 s), in flight when the process is killed.
    proxy.fault = (r) => (blobGet(r) === big ? { delayMs: 30_000 } : null);
    child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/copy-sweep-child.ts'], {
      env: { ...process.env, COPY_CONFIG: JSON.stringify(doc), RESUME_TOKEN: TOKEN, DATABASE_URL: PG_URL, COPY_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    // Killed once the small layers are checkpointed and the big one is being fetched.
    await until(
      'a checkpoint with the small layers',
      async () => {
        const job = await ledger.copyJobs.get(ref);
        const done = (job?.checkpoint?.done as string[] | undefined) ?? [];
        return small.every((d) => done.includes(d)) && blobGets(proxy.log).includes(big);
      },
      20_000,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    expect(output).not.toContain('DONE');
    const killed = (await ledger.copyJobs.get(ref))!;
    expect(killed.state).toBe('running');
    expect(killed.checkpoint!.done).not.toContain(big);
    expect(await skopeoDigestOrNull(`${b.host}/team/app:v1`)).toBeNull();

    // Past the dead process's leases (task and job), another process takes over.
    offset = 200_000;
    proxy.fault = () => null;
    const sum = await runSweep(deps, { budgetMs: 15_000 });
    expect(sum.transitions['running→succeeded'] ?? sum.transitions['submitted→succeeded']).toBe(1);
    expect(await skopeoDigest(`${b.host}/team/app:v1`)).toBe(digest);
    const gets = blobGets(proxy.log);
    for (const d of small) expect(gets.filter((g) => g === d)).toHaveLength(1);
    expect(gets.filter((g) => g === big)).toHaveLength(2);
    expect((await ledger.getTask(taskId))!.task).toMatchObject({ state: 'succeeded', attempts: 1, cloudRef: ref });
  }, 90_000);
});
