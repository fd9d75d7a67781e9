/** The `ferry` CLI as operators run it: `node bin/ferry.js …` child processes against a served API. */
import { readEnvFile } from '../local/stack/env.ts';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrTask, startApiStack, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { describeError, main } from '../shared/cli/main.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ferry.js');

let s: ApiStack;
beforeAll(async () => {
  s = await startApiStack();
});
afterAll(async () => {
  await s?.close();
});

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FERRY_') && k !== 'DATABASE_URL') env[k] = v;
  return env;
}

/** In-process: the same `main` bin/ferry.js runs, with captured output (fast; HTTP is still real). */
async function ferry(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { env: { FERRY_API_TOKEN: TEST_TOKENS.admin, ...env }, io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
  return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
}

/** As operators run it: `node bin/ferry.js …` in a child process. */
function ferryBin(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv(), FERRY_API_TOKEN: TEST_TOKENS.admin, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('bin/ferry.js', () => {
  it('runs after npm ci without a build: --help exits 0, usage errors 2, API failures 1, tables on stdout', async () => {
    const t = await acrTask(s);
    const [help, bad, list, denied] = await Promise.all([
      ferryBin(['cancel', '--help']),
      ferryBin(['tasks', '--bogus']),
      ferryBin(['tasks', '--url', s.api.url, '--state', 'submitted']),
      ferryBin(['cancel', t.id, '--url', s.api.url], { FERRY_API_TOKEN: TEST_TOKENS.read }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/ferry cancel --acr/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bogus/);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PROVIDER\s+STATE/);
    expect(list.stdout).toContain(t.id);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 403 Forbidden/);
  });
});

describe('usage', () => {
  it('--help everywhere exits 0; usage errors exit 2', async () => {
    const [top, cancelHelp, none, unknownOpt, missing, unknownCmd] = await Promise.all([
      ferry(['--help']),
      ferry(['cancel', '--help']),
      ferry([]),
      ferry(['tasks', '--bogus']),
      ferry(['cancel', '--url', 'http://127.0.0.1:1']),
      ferry(['launch']),
    ]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: ferry <command>/);
    expect(cancelHelp.code).toBe(0);
    expect(cancelHelp.stdout).toMatch(/ferry cancel --acr <source-instance-id> <rst-id>/);
    expect(none.code).toBe(2);
    expect(unknownOpt.code).toBe(2);
    expect(unknownOpt.stderr).toMatch(/--bogus/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing task id/);
    expect(unknownCmd.code).toBe(2);
  });
});

describe('against the API', () => {
  it('tasks / task / cancel: tables by default, --json for scripts, exit codes', async () => {
    const t = await acrTask(s);
    const pending = await acrTask(s, { cloud: 'none' });
    const url = ['--url', s.api.url];

    const [list, listJson, one] = await Promise.all([ferry(['tasks', ...url, '--state', 'submitted']), ferry(['tasks', ...url, '--json', '--limit', '1']), ferry(['task', t.id, ...url])]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PROVIDER\s+STATE\s+TARGET\s+ATTEMPTS\s+CLOUDREF\s+CREATED\s+ACTION$/);
    expect(list.stdout).toContain(t.id);
    expect(list.stdout).not.toContain(pending.id);
    expect(listJson.code).toBe(0);
    const parsed = JSON.parse(listJson.stdout);
    expect(parsed.items).toHaveLength(1);
    expect(parsed.nextCursor).toEqual(expect.any(String));
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`task\\s+${t.id}`));
    expect(one.stdout).toMatch(/History:\nAT\s+FROM\s+TO\s+ACTOR\s+REASON/);

    const c1 = await ferry(['cancel', t.id, '--reason', 'from the cli', ...url]);
    expect(c1.code).toBe(0);
    expect(c1.stdout).toMatch(new RegExp(`task ${t.id} canceled`));
    expect(c1.stdout).toMatch(/cloud status\s+CANCELED/);
    const c2 = await ferry(['cancel', t.id, ...url, '--json']);
    expect(c2.code).toBe(0);
    expect(JSON.parse(c2.stdout)).toMatchObject({ state: 'canceled', alreadyCanceled: true });
    const ev = (await s.ledger.getTask(t.id))!.events.at(-1)!;
    expect(ev).toMatchObject({ toState: 'canceled', actor: 'operator', reason: 'from the cli' });

    const [unknown, readOnly, noToken, badRef, byRef, badRefText] = await Promise.all([
      ferry(['cancel', '6f1c2d3e-1111-4222-8333-944455556666', ...url]),
      ferry(['cancel', pending.id, ...url], { FERRY_API_TOKEN: TEST_TOKENS.read }),
      ferry(['tasks', ...url], { FERRY_API_TOKEN: '' }),
      ferry(['cancel', '--acr', 'cri-localsrc001', 'not-an-rst', ...url, '--json']),
      ferry(['cancel', '--acr', 'cri-localsrc001', 'rst-nosuchtask001', ...url]),
      ferry(['cancel', '--acr', 'cri-localsrc001', 'not-an-rst', ...url]),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/HTTP 404 TaskNotFound/);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/HTTP 403/);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/FERRY_API_TOKEN is not set/);
    expect(badRef.code).toBe(1);
    expect(JSON.parse(badRef.stdout).error).toMatchObject({ status: 400, code: 'InvalidRequest', field: 'body.syncTaskId' });
    expect(badRefText.code).toBe(1);
    expect(badRefText.stderr).toMatch(/^ferry: HTTP 400 InvalidRequest: body\.syncTaskId: .+\n {2}field: body\.syncTaskId\n$/);
    expect(byRef.code).toBe(1);
    expect(byRef.stderr).toMatch(/HTTP 404 CloudTaskNotFound[\s\S]*cloud: SYNC_TASK_NOT_EXIST \(request id \S+\)/);
    expect((await s.ledger.getTask(pending.id))!.task.state).toBe('pending');

    const unreachable = await ferry(['tasks', '--url', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach/);
  });
});

describe('describeError', () => {
  it('reads the error envelope; older flat answers and non-JSON bodies still print', () => {
    expect(
      describeError(
        409,
        { error: { status: 409, code: 'AlreadyFinished', message: 'task x already ended (succeeded)', state: 'succeeded', cloud: { code: 'C', requestId: null } } },
        { 'retry-after': '3' },
      ),
    ).toBe('ferry: HTTP 409 AlreadyFinished: task x already ended (succeeded)\n  state: succeeded\n  cloud: C (request id -)\n  retry after: 3s');
    expect(describeError(503, { error: { status: 503, code: 'Unavailable', message: 'the function could not start; try again', requestId: 'r-1' } })).toBe(
      'ferry: HTTP 503 Unavailable: the function could not start; try again\n  request id: r-1',
    );
    expect(describeError(400, { error: 'BadEvent', message: 'bad', requestId: 'r-2' })).toBe('ferry: HTTP 400 BadEvent: bad\n  request id: r-2');
    expect(describeError(502, '<html>Bad Gateway</html>')).toBe('ferry: HTTP 502: <html>Bad Gateway</html>');
  });
});

describe('local commands', () => {
  it('config check prints every problem (exit 1) or a summary (exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'sources:\n  - kind: acr\n    name: x\nrules: 5\nbogus: true\n');
    const localEnv = readEnvFile(join(ROOT, 'examples', 'local.env'));
    const [badRun, badJson, good, missing] = await Promise.all([
      ferry(['config', 'check', bad]),
      ferry(['config', 'check', bad, '--json']),
      ferry(['config', 'check', 'examples/ferry.config.yaml'], localEnv),
      ferry(['config', 'check', join(dir, 'nope.yaml')]),
    ]);
    expect(badRun.code).toBe(1);
    const lines = badRun.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/invalid Ferry config .*bad\.yaml \(\d+ problems\)/);
    expect(badRun.stderr).toMatch(/bogus/);
    expect(badRun.stderr).toMatch(/rules/);
    expect(lines.length).toBeGreaterThan(3);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stdout).issues.length).toBe(lines.length - 1);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/is valid: \d+ source\(s\), \d+ rule\(s\)/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });

  it('config check on a YAML syntax error: one problem, where (line, column), never the text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-yaml-'));
    const example = readFileSync(join(ROOT, 'examples', 'ferry.config.yaml'), 'utf8');
    // A list item pasted above `sources:` (265 parser errors, one quoting the inline API token) …
    const pasted = join(dir, 'pasted.yaml');
    writeFileSync(pasted, example.replace('token: ${FERRY_API_TOKEN}', 'token: inline-S3CRET-api-0002').replace('sources:\n', '- token: inline-S3CRET-webhook-0001\nsources:\n'));
    // … and a password that starts with `>` (the parser's first error quotes it).
    const password = join(dir, 'password.yaml');
    writeFileSync(password, example.replace('password: ${FERRY_LAN_REGISTRY_PASSWORD}', 'password: >Lan-S3CRET-pass'));
    const [text, json, pw] = await Promise.all([ferryBin(['config', 'check', pasted]), ferryBin(['config', 'check', pasted, '--json']), ferryBin(['config', 'check', password])]);
    expect(text.code).toBe(1);
    expect(text.stderr.trim().split('\n')).toEqual([
      `invalid Ferry config ${pasted} (1 problem):`,
      'line 9, column 1: YAML syntax error: Unexpected scalar at node end; nothing else is checked until it is fixed',
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).issues).toEqual([{ path: 'line 9, column 1', message: 'YAML syntax error: Unexpected scalar at node end; nothing else is checked until it is fixed' }]);
    expect(pw.code).toBe(1);
    const line = example.split('\n').findIndex((l) => l.includes('password: ${FERRY_LAN_REGISTRY_PASSWORD}')) + 1;
    expect(pw.stderr).toContain(`(1 problem):\nline ${line}, column 16: YAML syntax error: `);
    for (const run of [text, json, pw]) expect(run.stdout + run.stderr).not.toContain('S3CRET');
  });

  it('replay POSTs the saved payload to /webhooks/<kind> with the webhook token', async () => {
    const seen: Array<{ url: string; auth: string | undefined; body: string }> = [];
    let status = 202;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', auth: req.headers.authorization, body });
        const answer = status < 300 ? { accepted: true } : { error: { status, code: 'Unauthorized', message: 'missing or invalid token' } };
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const payload = 'test/fixtures/webhooks/acr-trigger.json';
      const ok = await ferry(['replay', payload, '--kind', 'acr', '--instance', 'cri-localsrc001', '--url', url], { FERRY_WEBHOOK_TOKEN: 'hook-token-123' });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/HTTP 202/);
      expect(seen[0]!.url).toBe('/webhooks/acr?instance=cri-localsrc001'); // the parameter the webhook reads; no token in the URL
      expect(seen[0]!.auth).toBe('Bearer hook-token-123');
      expect(JSON.parse(seen[0]!.body)).toEqual(JSON.parse((await import('node:fs')).readFileSync(join(ROOT, payload), 'utf8')));
      status = 401;
      const [denied, noKind, noToken] = await Promise.all([
        ferry(['replay', payload, '--kind', 'acr', '--url', url], { FERRY_WEBHOOK_TOKEN: 'wrong' }),
        ferry(['replay', payload, '--url', url], { FERRY_WEBHOOK_TOKEN: 'x' }),
        ferry(['replay', payload, '--kind', 'acr', '--url', url]),
      ]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toBe('ferry: HTTP 401 Unauthorized: missing or invalid token\n');
      expect(noKind.code).toBe(2);
      expect(noToken.code).toBe(1);
      expect(noToken.stderr).toMatch(/FERRY_WEBHOOK_TOKEN/);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
