/**
 * The local cloud alone in its own process, for scenarios that measure a client: the cloud's CPU
 * then is not charged to the client under test. Usage: node --import tsx bench/cloud-child.ts
 * Pushes `team/app:v1.0.0` into cri-localsrc001, prints `@@result {"url","repoId"}`, and serves
 * until its stdin closes (the parent exiting closes it too).
 */
import { startLocalCloud } from '../local/cloud/server.ts';
import { reportToParent } from './lib.ts';

const SRC = 'cri-localsrc001';

async function main() {
  const cloud = await startLocalCloud({ port: 0, log: false, random: 1, speed: 1e-6 });
  await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag: 'v1.0.0' });
  reportToParent({ url: cloud.url, repoId: cloud.acr.repoId(SRC, 'team', 'app') });
  process.stdin.resume();
  process.stdin.on('end', () => {
    void cloud.close().then(() => process.exit(0));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
