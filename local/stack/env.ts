/**
 * Settings of the local stack, from the environment. Every bad value is an error naming the
 * variable and the rule; nothing here is a secret.
 */
import { readFileSync } from 'node:fs';

export type Env = Record<string, string | undefined>;

/** KEY=VALUE lines; `#` comments and blank lines skipped; no quoting or expansion. */
export function parseEnvFile(text: string, file = 'env file'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`${file}:${i + 1}: expected KEY=VALUE`);
    out[key] = line.slice(eq + 1).trim();
  });
  return out;
}

export function readEnvFile(path: string): Record<string, string> {
  return parseEnvFile(readFileSync(path, 'utf8'), path);
}

export function portSetting(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65535) throw new Error(`${name} must be a port number 0–65535, got "${raw}"`);
  return n;
}

/** `500`, `500ms`, `5s`, `1m` → milliseconds (a bare number is milliseconds). */
export function durationSetting(env: Env, name: string, fallbackMs: number, minMs = 100): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new Error(`${name} must be a duration like 500, 500ms, 5s or 1m, got "${raw}"`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (ms < minMs) throw new Error(`${name} must be at least ${minMs} ms, got "${raw}"`);
  return Math.round(ms);
}

export function positiveNumberSetting(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}
