/**
 * One process per PGlite data directory. PGlite is an embedded, single-process PostgreSQL: two
 * processes on one directory each keep their own copy of the database in memory and overwrite each
 * other's files, so work one of them accepted is lost. `lockDataDir` takes an exclusive lock on the
 * directory before PGlite opens it; a second process (or a second open in this one) gets
 * DataDirLockedError naming the directory and the process that holds it.
 *
 * The lock is a file, `<dir>/ferry.lock`, created exclusively (O_EXCL) and holding who took it: pid,
 * host, command, start time and, on Linux, the process's start tick (so a pid reused by another
 * program is not mistaken for the holder). A lock whose process is gone (SIGKILL, crash, power loss)
 * is stale and taken over; taking over goes through a second exclusive file, `<dir>/ferry.lock.break`,
 * so two processes finding the same stale lock cannot both win. A lock taken on another host cannot
 * be checked and is respected; the message names the file to delete.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';

export const LOCK_FILE = 'ferry.lock';

/** Who holds a data directory (the lock file's content). */
export interface LockHolder {
  pid: number;
  host: string;
  /** The holder's command line (node, its flags, the script and its arguments), at most 200 characters. */
  command: string;
  /** When it took the lock (ISO time). */
  since: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  procStart?: string;
  /** This lock's own id: who removes or takes over a lock checks it is still the one it read. */
  id: string;
}

export interface DataDirLock {
  readonly dir: string;
  readonly file: string;
  /** Removes the lock file (if it is still ours). Idempotent. */
  release(): void;
}

/** The directory is locked by a live process (another one, or this one through an earlier open). */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly code = 'FERRY_DATA_DIR_LOCKED';

  constructor(
    readonly dir: string,
    readonly file: string,
    readonly holder: LockHolder,
    readonly verifiable: boolean,
  ) {
    super(lockedMessage(dir, file, holder, verifiable));
    this.stack = `${this.name}: ${this.message}`;
  }
}

function lockedMessage(dir: string, file: string, h: LockHolder, verifiable: boolean): string {
  if (h.pid === process.pid && h.host === hostname() && held.get(file) === h.id) {
    return `the ledger directory ${dir} is already open in this process (pid ${h.pid}); PGlite allows one open per directory`;
  }
  const where = h.host === hostname() ? 'on this host' : `on host ${h.host}`;
  const who = `pid ${h.pid} ${where}, since ${h.since}${h.command ? `: ${h.command}` : ''}`;
  const lines = [`the ledger directory ${dir} is in use by another Ferry process (${who}).`];
  lines.push('PGlite serves one process at a time: stop that process first, or give this one another FERRY_DATA_DIR (or a PostgreSQL DATABASE_URL).');
  if (!verifiable) lines.push(`Ferry cannot check a process on another host; if none runs there any more, delete ${file}.`);
  return lines.join('\n');
}

/** Lock files held by this process: file → lock id. */
const held = new Map<string, string>();

/**
 * Takes the lock on `dir` (which must exist) or throws DataDirLockedError. Synchronous: nothing else
 * of this process can run between looking at a lock and taking it.
 */
export function lockDataDir(dir: string): DataDirLock {
  const abs = resolve(dir);
  const file = join(abs, LOCK_FILE);
  const procStart = procStartOf(process.pid);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: commandLine(),
    since: new Date().toISOString(),
    ...(procStart !== undefined ? { procStart } : {}),
    id: randomUUID(),
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (create(file, me)) return holdLock(abs, file, me.id);
    const seen = readHolder(file);
    if (seen === 'absent') continue; // released between our attempt and the read: try again
    if (seen === 'partial') {
      // Another process created the file an instant ago and is writing it.
      pause(20);
      continue;
    }
    const state = seen === 'corrupt' ? 'stale' : liveness(file, seen);
    if (state !== 'stale') throw new DataDirLockedError(abs, file, seen as LockHolder, state === 'alive');
    breakStale(file, seen);
  }
  throw new Error(`cannot lock the ledger directory ${abs}: ${file} keeps changing`);
}

function holdLock(dir: string, file: string, id: string): DataDirLock {
  held.set(file, id);
  // A process that exits without closing the ledger (process.exit) still leaves the directory free.
  const onExit = () => removeIfOurs(file, id);
  process.on('exit', onExit);
  return {
    dir,
    file,
    release() {
      if (held.get(file) !== id) return;
      held.delete(file);
      process.removeListener('exit', onExit);
      removeIfOurs(file, id);
    },
  };
}

function removeIfOurs(file: string, id: string): void {
  const h = readHolder(file);
  if (typeof h === 'object' && h.id === id) unlinkQuietly(file);
}

/** Creates `file` exclusively with the holder's JSON; false when it exists. */
function create(file: string, holder: LockHolder): boolean {
  try {
    writeFileSync(file, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

type ReadResult = LockHolder | 'absent' | 'partial' | 'corrupt';

function readHolder(file: string): ReadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0 && typeof h.host === 'string' && typeof h.id === 'string') {
      return {
        pid: h.pid,
        host: h.host,
        command: typeof h.command === 'string' ? h.command : '',
        since: typeof h.since === 'string' ? h.since : '?',
        id: h.id,
        ...(typeof h.procStart === 'string' ? { procStart: h.procStart } : {}),
      };
    }
  } catch {
    // not JSON (yet)
  }
  // Unreadable content: being written right now, or left half-written by a crash a while ago.
  return youngerThan(file, 2000) ? 'partial' : 'corrupt';
}

/** alive: its process runs; unverifiable: another host's; stale: its process is gone. */
function liveness(file: string, h: LockHolder): 'alive' | 'unverifiable' | 'stale' {
  if (h.host !== hostname()) return 'unverifiable';
  if (h.pid === process.pid) return held.get(file) === h.id ? 'alive' : 'stale'; // an earlier process had our pid
  return running(h.pid, h.procStart) ? 'alive' : 'stale';
}

function running(pid: number, procStart: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists (another user's process)
  }
  const stat = procStat(pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return false; // killed, not yet reaped
    if (procStart !== undefined && stat.start !== procStart) return false; // the pid now belongs to another process
  }
  return true;
}

/**
 * Removes the stale lock `seen`, unless someone replaced it meanwhile. Serialized by an exclusive
 * `.break` file: two processes that read the same stale lock cannot remove each other's fresh one.
 */
function breakStale(file: string, seen: LockHolder | 'corrupt'): void {
  const breaker = `${file}.break`;
  try {
    writeFileSync(breaker, `${JSON.stringify({ pid: process.pid, host: hostname(), procStart: procStartOf(process.pid) })}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    clearStaleBreaker(breaker);
    pause(20);
    return;
  }
  try {
    const now = readHolder(file);
    if (seen === 'corrupt' ? now === 'corrupt' : typeof now === 'object' && now.id === seen.id) unlinkQuietly(file);
  } finally {
    unlinkQuietly(breaker);
  }
}

/** A `.break` file left by a process that died while taking over (a window of microseconds). */
function clearStaleBreaker(breaker: string): void {
  let b: { pid?: unknown; host?: unknown; procStart?: unknown } | undefined;
  try {
    b = JSON.parse(readFileSync(breaker, 'utf8')) as typeof b;
  } catch {
    b = undefined;
  }
  let stale: boolean;
  if (b && typeof b.pid === 'number' && typeof b.host === 'string') {
    const procStart = typeof b.procStart === 'string' ? b.procStart : undefined;
    stale = b.host === hostname() && (b.pid === process.pid || !running(b.pid, procStart));
  } else {
    stale = !youngerThan(breaker, 2000);
  }
  if (stale) unlinkQuietly(breaker);
}

function youngerThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < ms;
  } catch {
    return false;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Linux: state and start tick of a process, from /proc/<pid>/stat; undefined elsewhere. */
function procStat(pid: number): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may contain spaces and parentheses; fields restart after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const start = rest[19]; // field 22, starttime
  return state && start ? { state, start } : undefined;
}

function procStartOf(pid: number): string | undefined {
  return procStat(pid)?.start;
}

/** `node --import tsx /…/local/stack/start.ts`: what an operator recognizes in `ps`. */
function commandLine(): string {
  const parts = [basename(process.argv0 || process.execPath), ...process.execArgv, ...process.argv.slice(1)];
  const line = parts.join(' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
