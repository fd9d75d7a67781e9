/**
 * Real registries for tests: `docker-registry serve` (CNCF distribution 2.8) on a free loopback port,
 * its filesystem storage and config in a temp dir, optionally behind htpasswd or token auth, with
 * notification endpoints. Every started registry is killed by `stop()`, by `stopAllRegistries()`,
 * and, failing both, when the test process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdFile } from './htpasswd.ts';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

export interface NotificationEndpoint {
  name: string;
  url: string;
  headers?: Record<string, string | string[]>;
  /** Go durations, e.g. `1s`, `500ms`. */
  timeout?: string;
  threshold?: number;
  backoff?: string;
  /** Actions not notified, e.g. `['pull']`. */
  ignoredActions?: string[];
}

export interface StartRegistryOptions {
  /** Users for `auth.htpasswd` (user → password). */
  htpasswd?: Record<string, string>;
  /** `auth.token` with a token server started for this registry (its options, or `true` for anonymous tokens). */
  token?: TokenServerOptions | true;
  notifications?: NotificationEndpoint[];
}

export interface Registry {
  /** `http://127.0.0.1:<port>` (no `/v2`). */
  url: string;
  /** `127.0.0.1:<port>`, as skopeo's `docker://` references want it. */
  host: string;
  /** The temp dir: config.yml, storage under `data/`. */
  dir: string;
  tokenServer?: TokenServer;
  /** What the registry printed (its log level is `warn`). */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A loopback port free now (a server started later may still lose it to another process). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function configFor(dir: string, port: number, opts: StartRegistryOptions, token: TokenServer | undefined): object {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: 'ferry-test-secret' },
  };
  if (opts.htpasswd) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdFile(opts.htpasswd));
    config['auth'] = { htpasswd: { realm: 'ferry-test', path: join(dir, 'htpasswd') } };
  } else if (token) {
    config['auth'] = { token: { realm: token.realm, service: token.service, issuer: token.issuer, rootcertbundle: token.certFile } };
  }
  if (opts.notifications?.length) {
    config['notifications'] = {
      endpoints: opts.notifications.map((e) => ({
        name: e.name,
        url: e.url,
        headers: Object.fromEntries(Object.entries(e.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
        timeout: e.timeout ?? '1s',
        threshold: e.threshold ?? 5,
        backoff: e.backoff ?? '1s',
        ...(e.ignoredActions ? { ignoredactions: e.ignoredActions } : {}),
      })),
    };
  }
  return config;
}

async function waitReady(url: string, proc: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`docker-registry exited (${proc.exitCode ?? proc.signalCode}):\n${out()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry not ready after 15 s:\n${out()}`);
}

function kill(proc: ChildProcess): Promise<void> {
  running.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const hard = setTimeout(() => proc.kill('SIGKILL'), 3000);
  return gone.finally(() => clearTimeout(hard));
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-'));
  const tokenServer = opts.token ? await startTokenServer(dir, opts.token === true ? {} : opts.token) : undefined;
  // A port picked and freed may be taken again before the registry binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, 'config.yml'), JSON.stringify(configFor(dir, port, opts, tokenServer), null, 2));
    const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    let log = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-20_000)));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-20_000)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, proc, () => log);
    } catch (e) {
      await kill(proc);
      if (attempt < 3) continue;
      await tokenServer?.close();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      url,
      host: `127.0.0.1:${port}`,
      dir,
      ...(tokenServer ? { tokenServer } : {}),
      output: () => log,
      async stop() {
        await kill(proc);
        await tokenServer?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Kills every registry this process started and has not stopped yet. */
export async function stopAllRegistries(): Promise<void> {
  await Promise.all([...running].map(kill));
}
