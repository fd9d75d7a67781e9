/**
 * The status page over plain HTTP, against the real API, ledger and local cloud: redirects and sign-in,
 * the session cookie, security headers, CSRF and origin refusals, read-only refusals, the no-JavaScript
 * confirmation path, escaping of hostile names, and the overview's numbers.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sessions } from '../shared/ui/session.ts';
import { acrTask } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { PG_URL } from './ledger-fixtures.ts';
import { csrfOf, FAILURE, failingReplication, signIn, startUiStack, succeedingReplication, type UiStack } from './ui-helpers.ts';

let s: UiStack;
let admin: string;
let reader: string;
beforeAll(async () => {
  s = await startUiStack();
  admin = (await signIn(s.url, TEST_TOKENS.admin)).cookie;
  reader = (await signIn(s.url, TEST_TOKENS.read)).cookie;
}, 60_000);
afterAll(async () => {
  await s?.close();
});

async function get(path: string, cookie?: string, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + path, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function post(path: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + path, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const csrf = async (cookie: string) => csrfOf((await get('/ui', cookie)).text);
const stateOf = async (id: string) => (await s.ledger.getTask(id))!.task.state;

describe('overview', () => {
  /** On a ledger with no replication yet: one failing and one succeeding, then the numbers the page shows. */
  async function checkOverview(stack: UiStack) {
    const cookie = (await signIn(stack.url, TEST_TOKENS.read)).cookie;
    const failed = await failingReplication(stack);
    await succeedingReplication(stack, 45_000);
    const res = await fetch(`${stack.url}/ui`, { headers: { cookie } });
    const text = await res.text();
    const k = (key: string) => new RegExp(`data-k="${key}">([^<]*)<`).exec(text)?.[1];
    expect({ succeeded: k('succeeded'), failed: k('failed'), open: k('open'), p50: k('p50'), p95: k('p95') }).toEqual({ succeeded: '1', failed: '1', open: '0', p50: '45 s', p95: '45 s' });
    const task = (await stack.ledger.getTask(failed.taskIds[0]!))!.task;
    expect(task.lastError?.requestId).toEqual(expect.any(String));
    expect(text).toContain(`<code class="bad">${FAILURE.code}</code> <span class="muted">request id</span> <code>${task.lastError!.requestId}</code>`);
    expect(text).toContain('Access denied for &lt;b&gt;this&lt;/b&gt; user.');
    expect(text).toMatch(/<tr data-rule="releases"><td>releases<\/td><td><span class="state s-failing">failing<\/span><\/td><td class="num">2<\/td><td class="num">2<\/td>/);
    expect(text).toMatch(/<tr data-rule="swr-north-to-east"><td>swr-north-to-east<\/td><td><span class="state s-idle">idle<\/span>/);
    expect(text).toContain('<div class="big ok">none</div>');
  }

  // First in the file: the shared stack's ledger (PGlite) is still empty.
  it('PGlite: counts a failing and a succeeding replication, their lag, the failing reason with code and request id', async () => {
    await checkOverview(s);
  });

  it.runIf(PG_URL)('PostgreSQL: the same numbers from the same queries', async () => {
    const schema = `ferry_ui_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const own = await startUiStack({ databaseUrl: PG_URL, searchPath: schema });
    try {
      await checkOverview(own);
    } finally {
      await own.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});

describe('sign-in', () => {
  it('an unauthenticated page → 303 to the form; an unauthenticated action → 401, nothing done', async () => {
    expect(await get('/ui')).toMatchObject({ status: 303 });
    expect((await get('/ui')).headers.get('location')).toBe('/ui/login?next=%2Fui');
    const t = await acrTask(s);
    expect((await get(`/ui/tasks/${t.id}`)).headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent(`/ui/tasks/${t.id}`)}`);
    const r = await post(`/ui/tasks/${t.id}/cancel`, { confirmed: 'yes' });
    expect(r.status).toBe(401);
    expect(r.text).toContain('sign in again');
    expect(await stateOf(t.id)).toBe('submitted');
  });

  it('a wrong token → 401 with the form and a message; a good one → 303 and a session cookie that is not the token', async () => {
    const bad = await post('/ui/login', { token: 'not-a-token' });
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('That is not one of this Ferry’s API tokens.');
    expect(bad.text).toContain('<form method="post" action="/ui/login">');
    expect(bad.headers.get('set-cookie')).toBeNull();

    const { setCookie } = await signIn(s.url, TEST_TOKENS.admin);
    expect(setCookie).toMatch(/^ferry_ui=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Max-Age=28800; Path=\/ui; HttpOnly; SameSite=Strict$/);
    const value = setCookie.split(';')[0]!.slice('ferry_ui='.length);
    const decoded = Buffer.from(value.split('.')[0]!, 'base64url').toString();
    expect(value + decoded).not.toContain(TEST_TOKENS.admin);
    expect(JSON.parse(decoded)).toMatchObject({ n: 'operator' });
  });

  it('sets Secure when the request came over https (x-forwarded-proto)', async () => {
    const { setCookie } = await signIn(s.url, TEST_TOKENS.admin, { 'x-forwarded-proto': 'https' });
    expect(setCookie).toMatch(/; Secure/);
  });

  it('after sign-in goes back to the page asked for, and only to a /ui page', async () => {
    const t = await acrTask(s, { cloud: 'none' });
    const login = async (next: string) => (await post('/ui/login', { token: TEST_TOKENS.read, next })).headers.get('location');
    expect(await login(`/ui/tasks/${t.id}`)).toBe(`/ui/tasks/${t.id}`);
    expect(await login('https://evil.example/ui')).toBe('/ui');
    expect(await login('//evil.example/ui')).toBe('/ui');
  });

  it('never takes a token from the URL: ?token= → 400, no session', async () => {
    for (const path of [`/ui?token=${TEST_TOKENS.admin}`, `/ui/login?access_token=${TEST_TOKENS.admin}`]) {
      const r = await get(path);
      expect(r.status).toBe(400);
      expect(r.text).toContain('never read from there');
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    // Even with a valid session, a token in the URL is refused, not used.
    expect((await get(`/ui?token=${TEST_TOKENS.admin}`, reader)).status).toBe(400);
  });

  it('a forged, tampered or expired cookie is no session; rotating a token ends its sessions', async () => {
    const [payload, mac] = admin.slice('ferry_ui='.length).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), n: 'operator', e: 9e15 })).toString('base64url');
    expect((await get('/ui', `ferry_ui=${forged}.${mac}`)).status).toBe(303);
    expect((await get('/ui', 'ferry_ui=garbage')).status).toBe(303);
    const now = s.clock.now();
    const sessions = new Sessions([{ name: 'operator', token: 'old-value-0123456789', role: 'admin' }]);
    const issued = sessions.issue({ name: 'operator', role: 'admin' }, now);
    expect(sessions.verify(issued.value, now)?.caller).toEqual({ name: 'operator', role: 'admin' });
    expect(sessions.verify(issued.value, now + 8 * 3600_000 + 1)).toBeNull();
    const rotated = new Sessions([{ name: 'operator', token: 'new-value-0123456789', role: 'admin' }]);
    expect(rotated.verify(issued.value, now)).toBeNull();
  });

  it('sign-out clears the cookie', async () => {
    const { cookie } = await signIn(s.url, TEST_TOKENS.read);
    const r = await post('/ui/logout', { csrf: await csrf(cookie) }, cookie);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/ui/login');
    expect(r.headers.get('set-cookie')).toMatch(/^ferry_ui=; Max-Age=0; .*Path=\/ui/);
  });
});

describe('headers and escaping', () => {
  it('every page: a CSP whose nonce is the inline style and script’s, no framing, no caching', async () => {
    for (const [path, cookie] of [
      ['/ui/login', undefined],
      ['/ui', admin],
    ] as const) {
      const r = await get(path, cookie);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = r.headers.get('content-security-policy')!;
      const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
      expect(csp).toBe(`default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
      expect(r.text).toContain(`<style nonce="${nonce}">`);
      expect(r.text).toContain(`<script nonce="${nonce}">`);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    const again = await get('/ui', admin);
    expect(again.headers.get('content-security-policy')).not.toBe((await get('/ui', admin)).headers.get('content-security-policy'));
  });

  it('escapes a hostile tag name and a cloud message with markup everywhere they appear', async () => {
    const hostile = '<script>alert(1)</script>';
    const t = await acrTask(s, { cloud: 'none', tag: hostile });
    await s.ledger.transition(t.id, {
      from: 'pending',
      to: 'failed',
      reason: `refused "${hostile}"`,
      actor: 'test',
      details: { error: { code: 'X<img src=x>', message: hostile, requestId: '"><svg onload=1>' } },
      patch: { lastError: { code: 'X<img src=x>', message: hostile, requestId: '"><svg onload=1>' } },
    });
    for (const path of ['/ui', `/ui/tasks/${t.id}`, `/ui/replications/${t.replicationId}`]) {
      const r = await get(path, admin);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(hostile);
      expect(r.text).not.toContain('<img src=x>');
      expect(r.text).not.toContain('"><svg');
      expect(r.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(r.text.match(/<script/g)).toHaveLength(1);
    }
  });

  it('a malformed id → 400 naming the field; an unknown one → 404; an unknown page → 404', async () => {
    const bad = await get('/ui/tasks/not-a-uuid', admin);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('path.id: must be a UUID');
    expect((await get('/ui/replications/6f1c2d3e-1111-4222-8333-944455556666', admin)).status).toBe(404);
    expect((await get('/ui/nothing-here', admin)).status).toBe(404);
  });
});

describe('actions', () => {
  it('a POST without the CSRF token, with another session’s, or from another origin → 403; nothing done', async () => {
    const t = await acrTask(s);
    const other = (await signIn(s.url, TEST_TOKENS.admin)).cookie;
    const mine = await csrf(admin);
    const theirs = await csrf(other);
    expect(mine).not.toBe(theirs);
    const path = `/ui/tasks/${t.id}/cancel`;
    const noCsrf = await post(path, { confirmed: 'yes' }, admin);
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.text).toContain('CSRF token is missing or stale');
    expect((await post(path, { confirmed: 'yes', csrf: theirs }, admin)).status).toBe(403);
    const crossOrigin = await post(path, { confirmed: 'yes', csrf: mine }, admin, { origin: 'https://evil.example' });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.text).toContain('not sent from this site');
    expect((await post(path, { confirmed: 'yes', csrf: mine }, admin, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post('/ui/login', { token: TEST_TOKENS.admin }, undefined, { origin: 'https://evil.example' })).status).toBe(403);
    expect(await stateOf(t.id)).toBe('submitted');
    expect(s.cloud.acr.task(t.cloudRef!)?.status).not.toBe('CANCELED');
  });

  it('a read-only session sees no buttons and its POST gets 403; nothing done', async () => {
    const t = await acrTask(s);
    const page = await get(`/ui/tasks/${t.id}`, reader);
    expect(page.text).not.toContain(`action="/ui/tasks/${t.id}/cancel"`);
    expect(page.text).toContain('read-only token');
    const r = await post(`/ui/tasks/${t.id}/cancel`, { confirmed: 'yes', csrf: csrfOf(page.text) }, reader);
    expect(r.status).toBe(403);
    expect(r.text).toContain('“dashboard”, a read-only token');
    expect((await get(`/ui/tasks/${t.id}/cancel`, reader)).status).toBe(403);
    expect(await stateOf(t.id)).toBe('submitted');
  });

  it('without JavaScript: GET …/cancel and an unconfirmed POST show a confirmation; the confirmed POST cancels (ledger and cloud)', async () => {
    const t = await acrTask(s);
    const token = await csrf(admin);
    for (const r of [await get(`/ui/tasks/${t.id}/cancel`, admin), await post(`/ui/tasks/${t.id}/cancel`, { csrf: token }, admin)]) {
      expect(r.status).toBe(200);
      expect(r.text).toContain(`<h1>Cancel task ${t.id}?</h1>`);
      expect(r.text).toMatch(/<input type="hidden" name="confirmed" value="yes">\s*<button class="act danger" type="submit">Confirm<\/button>/);
    }
    expect(await stateOf(t.id)).toBe('submitted');
    const done = await post(`/ui/tasks/${t.id}/cancel`, { csrf: token, confirmed: 'yes' }, admin);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/ui/tasks/${t.id}?done=canceled`);
    expect(await stateOf(t.id)).toBe('canceled');
    expect(s.cloud.acr.task(t.cloudRef!)?.status).toBe('CANCELED');
    const ev = (await s.ledger.getTask(t.id))!.events.at(-1)!;
    expect(ev).toMatchObject({ toState: 'canceled', actor: 'operator', reason: 'canceled from the status page' });
    // Again: the task has no cancel any more.
    const again = await post(`/ui/tasks/${t.id}/cancel`, { csrf: token, confirmed: 'yes' }, admin);
    expect(again.status).toBe(409);
  });

  it('a cancel the cloud refuses shows its code and request id (the API’s own answer)', async () => {
    const t = await acrTask(s);
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, error: { status: 403, code: 'NoPrivilege', message: 'Access denied.' } });
    const r = await post(`/ui/tasks/${t.id}/cancel`, { csrf: await csrf(admin), confirmed: 'yes' }, admin);
    expect(r.status).toBe(502);
    expect(r.text).toContain('the cloud refused Ferry&#39;s credentials (NoPrivilege)');
  });

  it('retry of a task and of a replication re-open the failed targets once', async () => {
    const f = await failingReplication(s);
    const token = await csrf(admin);
    const one = await post(`/ui/tasks/${f.taskIds[0]}/retry`, { csrf: token, confirmed: 'yes' }, admin);
    expect(one.status).toBe(303);
    expect(await stateOf(f.taskIds[0]!)).toBe('pending');
    const page = await get(`/ui/replications/${f.replicationId}`, admin);
    expect(page.text).toContain('Retry 1 finished target</button>');
    const rep = await post(`/ui/replications/${f.replicationId}/retry`, { csrf: token, confirmed: 'yes' }, admin);
    expect(rep.status).toBe(303);
    expect(rep.headers.get('location')).toBe(`/ui/replications/${f.replicationId}?done=retried`);
    expect(await stateOf(f.taskIds[1]!)).toBe('pending');
    expect((await s.ledger.getTask(f.taskIds[1]!))!.task.reruns).toBe(1);
  });
});
