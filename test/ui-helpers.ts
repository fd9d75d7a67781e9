/**
 * Shared setup for the status page tests: the operator API and the webhook over a test stack
 * (local cloud, real ledger), sign-in over HTTP, and a failing and a succeeding replication made
 * the real way (ACR trigger delivery → webhook submission → sweep).
 */
import { expect } from 'vitest';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { nextTag, startApiStack, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { fixture } from './webhook-harness.ts';

export interface UiStack extends ApiStack {
  webhook: NodeServer;
  url: string;
}

export async function startUiStack(opts: { databaseUrl?: string; searchPath?: string } = {}): Promise<UiStack> {
  // Virtual time stands still unless a test advances it, so lag and ages are exact.
  const s = await startApiStack({ cloud: { speed: 1e-9 }, ...opts });
  const webhook = await serveNode(createWebhookApp(s.deps));
  return {
    ...s,
    webhook,
    url: s.api.url,
    async close() {
      await webhook.close();
      await s.close();
    },
  };
}

/** An ACR trigger delivery of team/app:<tag>, pushed at the source first so its digest is real. */
export async function deliver(s: UiStack, tag: string): Promise<{ replicationId: string; taskIds: string[]; states: string[] }> {
  const pushed = await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag });
  const body = fixture('acr-trigger.json')
    .replace('v1.2.3', tag)
    .replace(/sha256:[0-9a-f]{64}/, pushed.digest);
  const res = await fetch(`${s.webhook.url}/webhooks/acr?source=acr-hangzhou`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.webhook}` },
    body,
  });
  const answer = (await res.json()) as any;
  expect(res.status).toBe(202);
  const targets = answer.replications[0].targets as { taskId: string; state: string }[];
  return { replicationId: answer.replicationId, taskIds: targets.map((t) => t.taskId), states: targets.map((t) => t.state) };
}

export const FAILURE = { code: 'NoPrivilege', message: 'Access denied for <b>this</b> user.' };

/** A push whose both targets fail at submission with the cloud's NoPrivilege (and a request id). */
export async function failingReplication(s: UiStack, tag = nextTag()) {
  s.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 2, error: { status: 403, ...FAILURE } });
  const d = await deliver(s, tag);
  expect(d.states).toEqual(['failed', 'failed']);
  return { tag, ...d };
}

/** A push whose both targets succeed `lagMs` after it was received (the sweep sees the cloud finish). */
export async function succeedingReplication(s: UiStack, lagMs: number, tag = nextTag()) {
  const d = await deliver(s, tag);
  s.cloud.clock.advance(lagMs);
  await runSweep(s.deps);
  const states = await Promise.all(d.taskIds.map(async (id) => (await s.ledger.getTask(id))!.task.state));
  expect(states).toEqual(['succeeded', 'succeeded']);
  return { tag, ...d };
}

/** Signs in over HTTP; returns the session cookie (`name=value`) and the raw Set-Cookie. */
export async function signIn(url: string, token: string, headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string }> {
  const res = await fetch(`${url}/ui/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie };
}

/** The CSRF token of the page's forms (every signed-in page has one: the sign-out form). */
export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  expect(m, 'a CSRF field').not.toBeNull();
  return m![1]!;
}
