/**
 * `npm start` as a child process (`node --import tsx local/stack/start.ts`) on free ports and a given
 * FERRY_DATA_DIR, for tests that need the real process: its exit code, stderr, SIGKILL, restarts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/** process.env without Ferry's own variables (the stack must run on its defaults). */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(FERRY_|DATABASE_URL$|ALIBABA_CLOUD_|HUAWEI|PORT$)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

export interface StackProcess {
  proc: ChildProcess;
  /** Everything it printed so far. */
  out: { stdout: string; stderr: string };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the URLs of the "local stack ready" line; rejects when the process exits first. */
  ready: Promise<{ apiUrl: string; cloudUrl: string }>;
  /** SIGINT, then the exit code (rejects after `ms`). */
  stop(ms?: number): Promise<number | null>;
}

/** Started processes, for the suite's afterAll (`killAll`). */
const started: ChildProcess[] = [];

export function startStackProcess(dataDir: string, env: NodeJS.ProcessEnv = {}): StackProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/stack/start.ts'], {
    cwd: ROOT,
    env: { ...cleanEnv(), PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: dataDir, FERRY_SWEEP_INTERVAL: '500', FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  const out = { stdout: '', stderr: '' };
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<{ apiUrl: string; cloudUrl: string }>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out.stdout += c;
      const line = out.stdout.split('\n').find((l) => l.includes('"local stack ready"'));
      if (line) {
        const l = JSON.parse(line) as { apiUrl: string; cloudUrl: string };
        resolve({ apiUrl: l.apiUrl, cloudUrl: l.cloudUrl });
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out.stderr += c));
    void exit.then((e) => reject(new Error(`the stack exited before it was ready (${e.code ?? e.signal})\n${out.stderr}`)));
  });
  ready.catch(() => {});
  return {
    proc,
    out,
    exit,
    ready,
    async stop(ms = 20_000) {
      proc.kill('SIGINT');
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no exit ${ms} ms after SIGINT\n${out.stderr.slice(-2000)}`)), ms).unref());
      return (await Promise.race([exit, timeout])).code;
    },
  };
}

/** SIGKILLs every started process still running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    started.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }),
  );
}
