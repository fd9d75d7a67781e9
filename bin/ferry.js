#!/usr/bin/env node
// `ferry` operator CLI. Runs the TypeScript sources directly through tsx, so it works in a checkout
// after `npm ci` with no build step. See shared/cli/main.ts.
// A plain help request (`ferry --help`, `ferry help [command]`, `ferry <command> --help`) is answered
// from .cache/cli-help.mjs, the help texts `npm ci` precompiled (scripts/build-cli.mjs), before the
// TypeScript loader starts; a missing or stale copy (help.ts newer) takes the ordinary path.
import { statSync } from 'node:fs';

const args = process.argv.slice(2);
const isHelp = (a) => a === '--help' || a === '-h';
const topic =
  args.length === 1 && (isHelp(args[0]) || args[0] === 'help')
    ? ''
    : args.length === 2 && args[0] === 'help'
      ? args[1]
      : args.length === 2 && isHelp(args[1]) && !args[0].startsWith('-')
        ? args[0]
        : undefined;

async function fastHelp(name) {
  const compiled = new URL('../.cache/cli-help.mjs', import.meta.url);
  try {
    if (statSync(compiled).mtimeMs < statSync(new URL('../shared/cli/help.ts', import.meta.url)).mtimeMs) return false;
    const { GLOBAL_HELP, HELP } = await import(compiled.href);
    const text = name ? HELP[name] : GLOBAL_HELP;
    if (text === undefined) return false; // an unknown command: main.ts says so
    process.stdout.write(`${text}\n`);
    return true;
  } catch {
    return false;
  }
}

if (topic === undefined || !(await fastHelp(topic))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import('../shared/cli/main.ts');
  await run();
}
