/**
 * The status page in a real headless browser (Debian's chromium, driven by playwright-core; nothing
 * downloads a browser): sign-in, the overview after a failing and a succeeding replication, a
 * replication's page, cancel and retry from the page (confirm dialog), a refused action with a
 * read-only token, no token in any URL, the cookie's flags, and the page without JavaScript.
 * One browser for the file; a fresh context (cookie jar) per test. A failing test leaves a screenshot
 * in test-results/ui/<test>.png. FERRY_UPDATE_SCREENSHOT=1 also writes docs/status-page.png.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { acrTask } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { PG_URL } from './ledger-fixtures.ts';
import { FAILURE, failingReplication, startUiStack, succeedingReplication, type UiStack } from './ui-helpers.ts';
import { shortId } from '../shared/ui/format.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const RESULTS = 'test-results/ui';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';

if (!available && !inCi) console.warn(`[ui-browser] skipped: no chromium at ${CHROMIUM} (install Debian's chromium: bash scripts/ci-chromium.sh, or set CHROMIUM_PATH)`);

describe.runIf(!available && inCi)('chromium in CI', () => {
  it('is installed (scripts/ci-chromium.sh)', () => {
    expect.fail(`no chromium at ${CHROMIUM}: CI must run the browser tests (bash scripts/ci-chromium.sh installs it)`);
  });
});

describe.runIf(available)('status page in chromium', () => {
  let s: UiStack;
  let browser: Browser;
  let failed: Awaited<ReturnType<typeof failingReplication>>;
  let succeeded: Awaited<ReturnType<typeof succeedingReplication>>;
  const schema = `ferry_uib_${randomBytes(4).toString('hex')}`;
  let pgAdmin: pg.Client | undefined;
  /** Every URL any page requested, to show no token ever reaches one. */
  const urls: string[] = [];

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    // PostgreSQL when there is one (it starts in milliseconds; PGlite takes seconds on a busy machine).
    if (PG_URL) {
      pgAdmin = new pg.Client({ connectionString: PG_URL });
      await pgAdmin.connect();
      await pgAdmin.query(`CREATE SCHEMA ${schema}`);
    }
    [s, browser] = await Promise.all([startUiStack(PG_URL ? { databaseUrl: PG_URL, searchPath: schema } : {}), chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })]);
    failed = await failingReplication(s);
    succeeded = await succeedingReplication(s, 45_000);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await pgAdmin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pgAdmin?.end();
  });

  /** A new browser context (empty cookie jar); screenshots its page if the test fails. */
  async function open(ctx: TestContext, o: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: o.javaScriptEnabled ?? true });
    const page = await context.newPage();
    page.on('request', (r) => urls.push(r.url()));
    ctx.onTestFailed(async () => {
      const name = ctx.task.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80);
      await page.screenshot({ path: `${RESULTS}/${name}.png`, fullPage: true }).catch(() => {});
    });
    return page;
  }

  async function signIn(page: Page, token: string, path = '/ui'): Promise<void> {
    await page.goto(s.url + path);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('#token', token);
    await Promise.all([page.waitForURL((u) => u.pathname !== '/ui/login'), page.click('button[type=submit]')]);
  }

  const stateOf = async (id: string) => (await s.ledger.getTask(id))!.task.state;

  it('sign-in: a wrong token is refused with a message, a good one opens the overview; the cookie is HttpOnly, SameSite=Strict', async (ctx) => {
    const page = await open(ctx);
    await page.goto(`${s.url}/ui`);
    expect(page.url()).toBe(`${s.url}/ui/login?next=%2Fui`);
    await page.fill('#token', 'wrong-token');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
    expect(refused.status()).toBe(401);
    await expect.poll(() => page.textContent('[role=alert]')).toContain('That is not one of this Ferry’s API tokens.');
    await page.fill('#token', TEST_TOKENS.admin);
    await Promise.all([page.waitForURL(`${s.url}/ui`), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toContain('Overview');
    expect(await page.textContent('header .who')).toBe('operator (admin)');
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'ferry_ui', path: '/ui', httpOnly: true, sameSite: 'Strict' });
    expect(cookies[0]!.value).not.toContain(TEST_TOKENS.admin);
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('the overview after a failing and a succeeding replication: counts, lag, rule health, the failure with its code and request id', async (ctx) => {
    const page = await open(ctx);
    await signIn(page, TEST_TOKENS.read);
    const k = (key: string) => page.textContent(`[data-k=${key}]`);
    expect({ succeeded: await k('succeeded'), failed: await k('failed'), open: await k('open'), p50: await k('p50'), p95: await k('p95') }).toEqual({
      succeeded: '1',
      failed: '1',
      open: '0',
      p50: '45 s',
      p95: '45 s',
    });
    const task = (await s.ledger.getTask(failed.taskIds[0]!))!.task;
    const row = page.locator('#failing tbody tr', { hasText: shortId(task.id) });
    await expect.poll(() => row.textContent()).toContain(FAILURE.code);
    const text = (await row.textContent())!;
    expect(text).toContain(task.lastError!.requestId!);
    expect(text).toContain(FAILURE.message);
    expect(await page.locator('#rules tr[data-rule=releases] .state').textContent()).toBe('failing');
    await page.screenshot({ path: `${RESULTS}/overview.png`, fullPage: true });
    if (process.env.FERRY_UPDATE_SCREENSHOT === '1') await page.screenshot({ path: 'docs/status-page.png', fullPage: true });

    // The failure's time line, one click away.
    await Promise.all([page.waitForURL(`**/ui/tasks/${task.id}`), row.locator('a').first().click()]);
    const timeline = (await page.locator('table.timeline').textContent())!;
    expect(timeline).toContain('pending → failed');
    expect(timeline).toContain(task.lastError!.requestId!);
  });

  it('a replication’s page: the source image, every target, every attempt', async (ctx) => {
    const page = await open(ctx);
    await signIn(page, TEST_TOKENS.read);
    await Promise.all([page.waitForURL(`**/ui/replications/${succeeded.replicationId}`), page.click(`#recent a[href="/ui/replications/${succeeded.replicationId}"]`)]);
    expect(await page.textContent('#source-image')).toMatch(new RegExp(`^acr-hangzhou/team/app:${succeeded.tag.replace('.', '\\.')}@sha256:[0-9a-f]{64}$`));
    expect(await page.locator('#targets tbody tr').count()).toBe(2);
    expect(await page.locator('#targets .state').allTextContents()).toEqual(['succeeded', 'succeeded']);
    const attempts = page.locator('details');
    expect(await attempts.count()).toBe(2);
    for (const id of succeeded.taskIds) {
      const ref = (await s.ledger.getTask(id))!.task.cloudRef!;
      expect(await page.locator('table.attempts').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(ref)]));
    }
  });

  it('cancel from the page: a dismissed confirm does nothing, an accepted one cancels in the ledger and at the cloud', async (ctx) => {
    const t = await acrTask(s);
    const page = await open(ctx);
    await signIn(page, TEST_TOKENS.admin, `/ui/tasks/${t.id}`);
    expect(page.url()).toBe(`${s.url}/ui/tasks/${t.id}`);
    const questions: string[] = [];
    page.once('dialog', (d) => {
      questions.push(d.message());
      void d.dismiss();
    });
    await page.click('button:has-text("Cancel")');
    await page.waitForTimeout(200);
    expect(questions).toEqual([`Cancel task ${t.id}?`]);
    expect(page.url()).toBe(`${s.url}/ui/tasks/${t.id}`);
    expect(await stateOf(t.id)).toBe('submitted');

    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForURL(`**/ui/tasks/${t.id}?done=canceled`), page.click('button:has-text("Cancel")')]);
    expect(await page.textContent('[role=status]')).toContain('Canceled');
    expect(await page.textContent('h1 .state')).toBe('canceled');
    expect(await stateOf(t.id)).toBe('canceled');
    expect(s.cloud.acr.task(t.cloudRef!)?.status).toBe('CANCELED');
  });

  it('retry from the page re-opens a failed task', async (ctx) => {
    const id = failed.taskIds[1]!;
    const page = await open(ctx);
    await signIn(page, TEST_TOKENS.admin, `/ui/tasks/${id}`);
    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForURL(`**/ui/tasks/${id}?done=retried`), page.click('button:has-text("Retry")')]);
    expect(await page.textContent('[role=status]')).toContain('Re-opened');
    const task = (await s.ledger.getTask(id))!.task;
    expect(task).toMatchObject({ state: 'pending', reruns: 1 });
    expect((await s.ledger.getTask(id))!.events.at(-1)).toMatchObject({ actor: 'operator', reason: 'retried from the status page' });
  });

  it('a read-only token: no buttons, and a forged action form is refused with 403', async (ctx) => {
    const t = await acrTask(s);
    const page = await open(ctx);
    await signIn(page, TEST_TOKENS.read, `/ui/tasks/${t.id}`);
    expect(await page.locator('.actions button').count()).toBe(0);
    expect(await page.textContent('main')).toContain('read-only token');
    // The session's own CSRF token (from the sign-out form), in a form the page never offers.
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.evaluate((action) => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = action;
        for (const [name, value] of [
          ['csrf', (document.querySelector('input[name=csrf]') as HTMLInputElement).value],
          ['confirmed', 'yes'],
        ]) {
          const i = document.createElement('input');
          i.type = 'hidden';
          i.name = name!;
          i.value = value!;
          f.appendChild(i);
        }
        document.body.appendChild(f);
        f.submit();
      }, `/ui/tasks/${t.id}/cancel`),
    ]);
    expect(answer.status()).toBe(403);
    await page.waitForLoadState();
    expect(await page.textContent('[role=alert]')).toContain('read-only token');
    expect(await stateOf(t.id)).toBe('submitted');
  });

  it('without JavaScript: sign-in, the overview, and a cancel through the confirmation page', async (ctx) => {
    const t = await acrTask(s);
    const page = await open(ctx, { javaScriptEnabled: false });
    await signIn(page, TEST_TOKENS.admin);
    expect(await page.textContent('h1')).toContain('Overview');
    expect(await page.textContent('[data-k=succeeded]')).toBe('1');
    await page.goto(`${s.url}/ui/tasks/${t.id}`);
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Cancel")')]);
    expect(await page.textContent('h1')).toBe(`Cancel task ${t.id}?`);
    expect(await stateOf(t.id)).toBe('submitted');
    await Promise.all([page.waitForURL(`**/ui/tasks/${t.id}?done=canceled`), page.click('button:has-text("Confirm")')]);
    expect(await stateOf(t.id)).toBe('canceled');
  });

  it('no token ever appeared in a URL', () => {
    expect(urls.length).toBeGreaterThan(10);
    for (const token of Object.values(TEST_TOKENS)) expect(urls.filter((u) => u.includes(token))).toEqual([]);
  });
});
