#!/usr/bin/env node
/**
 * `npm start`: runs local/stack/start.ts as plain JavaScript. esbuild bundles it, with everything
 * it imports from this repository (npm packages stay external), into .cache/stack/start.mjs, which
 * this process then imports. Compared with the TypeScript loader (tsx) that saves ~60 MiB of the
 * running stack's memory and seconds of start-up. Bundled on every start (under a second), so the
 * bundle is never stale; written to a temporary name and renamed, so two starts cannot mix files.
 * Stack traces point into the bundle: `NODE_OPTIONS=--enable-source-maps npm start` maps them back.
 * Without esbuild (an install without dev dependencies) it loads the TypeScript through tsx instead.
 * The bundle sits two levels below the root, as start.ts does, so paths it derives from its own URL hold.
 */
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(ROOT, 'local', 'stack', 'start.ts');
const out = join(ROOT, '.cache', 'stack', 'start.mjs');

async function bundle() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    write: false,
    logLevel: 'error',
  });
  // esbuild's helper process would otherwise stay for the life of the stack.
  await esbuild.stop();
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `.${process.pid}.tmp`;
  // The map first: the bundle names it, and must never point at a map of another build.
  const isMap = (f) => f.path.endsWith('.map');
  for (const f of [...result.outputFiles.filter(isMap), ...result.outputFiles.filter((f) => !isMap(f))]) {
    writeFileSync(f.path + tmp, f.contents);
    renameSync(f.path + tmp, f.path);
  }
  return out;
}

const bundled = await bundle();
if (bundled) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
