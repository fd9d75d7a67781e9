/**
 * A second Ferry process on the same data directory. PGlite is single-process: two `npm start` on one
 * FERRY_DATA_DIR used to both start, both answer 202, and after a restart one side's accepted
 * replications were gone. Now the second refuses (exit 1, naming the directory and the holder's pid)
 * while the first keeps serving; everything the first accepted, before, during and after the
 * attempt, is replicated and still in the ledger when the directory is opened again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, type StackProcess, startStackProcess } from '../helpers/stack-process.ts';

const ADMIN = 'dev-admin-token-0123456789';
const TARGETS = ['cri-localdst001', 'cri-localdst002'];
const dir = mkdtempSync(join(tmpdir(), 'ferry-second-'));

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface TaskView {
  id: string;
  replicationId: string;
  state: string;
  targetKey: string;
}

async function tasks(apiUrl: string): Promise<TaskView[]> {
  const res = await request(`${apiUrl}/tasks?limit=200`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { items: TaskView[] }).items;
}

/** A push of team/app:<tag> in the stack's local cloud; its ACR trigger calls the stack's webhook. */
async function push(cloudUrl: string, tag: string): Promise<number | undefined> {
  const res = await request(`${cloudUrl}/_local/acr/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag }),
  });
  const out = (await res.body.json()) as { deliveries: { status?: number }[] };
  return out.deliveries[0]?.status;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('chaos: second process on the same data directory', () => {
  it('the second refuses; the first keeps serving; nothing accepted is lost', async () => {
    const data = join(dir, 'data');
    const first: StackProcess = startStackProcess(data);
    const { apiUrl, cloudUrl } = await first.ready;
    const tags: string[] = [];
    const accepted = async (tag: string) => {
      tags.push(tag);
      expect([200, 202]).toContain(await push(cloudUrl, tag));
    };
    await accepted('v1.0.0');

    // The second process starts while the first is accepting pushes.
    const second = startStackProcess(data);
    // `ready` settles either way: it resolves when the process serves, rejects when it exits first.
    const outcome = second.ready.then(
      () => 'serving',
      async () => {
        const e = await second.exit;
        return `exit ${e.code ?? e.signal}`;
      },
    );
    let settled = false;
    void outcome.then(() => (settled = true));
    const during = (async () => {
      for (let i = 1; !settled && i <= 40; i++) await accepted(`v1.0.${i}`);
    })();
    expect(await outcome).toBe('exit 1');
    await during;
    expect(second.out.stderr).toContain(`the ledger directory ${join(data, 'ledger')} is in use by another Ferry process (pid ${first.proc.pid} on this host`);
    expect(second.out.stdout).not.toContain('local stack ready');

    // The first never noticed: it still answers and replicates.
    await accepted('v2.0.0');
    const expected = tags.length * TARGETS.length;
    const done = await until(
      `${expected} tasks succeeded`,
      async () => {
        const t = await tasks(apiUrl);
        return t.length === expected && t.every((x) => x.state === 'succeeded') ? t : undefined;
      },
      60_000,
    );
    expect(new Set(done.map((t) => t.targetKey))).toEqual(new Set(tags.flatMap((tag) => [`acr:cri-localdst001:cn-shanghai:team/app:${tag}`, `acr:cri-localdst002:cn-beijing:team/app:${tag}`])));
    expect(await first.stop()).toBe(0);

    // Opened again: every accepted replication is there, finished.
    const again = startStackProcess(data);
    const reopened = await tasks((await again.ready).apiUrl);
    expect(reopened.map((t) => `${t.id} ${t.state}`).sort()).toEqual(done.map((t) => `${t.id} ${t.state}`).sort());
    expect(await again.stop()).toBe(0);
    console.log(`second-process: ${tags.length} pushes accepted (${tags.length - 2} while the second process started and refused), ${expected} tasks succeeded and kept`);
  });
});
