/**
 * Runs the local cloud alone: `npx tsx local/cloud/cli.ts [seed.json]`.
 * Port from FERRY_CLOUD_PORT (default 8090); the optional argument is a JSON file with
 * the `localCloud` seed (see seed.ts). Logs one line per request.
 */
import { readFileSync } from 'node:fs';
import { startLocalCloud } from './server.ts';
import type { LocalCloudSeedInput } from './seed.ts';

async function main(): Promise<void> {
  const seedFile = process.argv[2];
  let seed: LocalCloudSeedInput | undefined;
  if (seedFile) {
    try {
      seed = JSON.parse(readFileSync(seedFile, 'utf8')) as LocalCloudSeedInput;
    } catch (err) {
      throw new Error(`seed file ${seedFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const cloud = await startLocalCloud({ ...(seed ? { seed } : {}), log: true });
  console.log(`[local-cloud] listening on ${cloud.url} (admin: ${cloud.url}/_local/state)`);
  for (const [kind, urls] of Object.entries(cloud.registries)) {
    for (const [key, url] of Object.entries(urls)) console.log(`[local-cloud] registry ${kind} ${key} on ${url} (logins: ${cloud.url}/_local/registries)`);
  }
  const stop = () => {
    cloud.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`[local-cloud] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
