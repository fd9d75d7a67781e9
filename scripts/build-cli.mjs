#!/usr/bin/env node
/**
 * `npm ci` (prepare): compiles the CLI's help texts (shared/cli/help.ts, no imports) to
 * .cache/cli-help.mjs, so bin/ferry.js answers `ferry --help` and `ferry <command> --help` without
 * starting the TypeScript loader (tsx). bin/ferry.js uses the file only while it is newer than
 * help.ts; otherwise, or without it (esbuild missing: an install without dev dependencies), it loads
 * the TypeScript as every other command does. Never fails the install.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(ROOT, 'shared', 'cli', 'help.ts');
const out = join(ROOT, '.cache', 'cli-help.mjs');

try {
  const { build } = await import('esbuild');
  mkdirSync(dirname(out), { recursive: true });
  await build({ entryPoints: [entry], outfile: out, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'error' });
  if (!process.argv.includes('--quiet')) process.stdout.write(`ferry: CLI help compiled to ${out} (${statSync(out).size} bytes)\n`);
} catch (err) {
  process.stderr.write(`ferry: CLI help not precompiled (${err instanceof Error ? err.message : String(err)}); \`ferry --help\` loads the TypeScript instead\n`);
}
