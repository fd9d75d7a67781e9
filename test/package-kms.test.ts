// The done-when: a package built from a config whose secrets come from KMS (and whose
// variables have the operator's own names) holds no secret value anywhere under .serverless/ or
// dist/. The deploying shell holds the values too (as an operator's often does), so a template
// that copied variables it was not asked for would be caught. Writes dist/ and .serverless/ in the
// repo, like `npm run package`.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ferry-package-kms-'));
const cleanup: string[] = [];
afterAll(() => {
  for (const d of [dir, ...cleanup]) rmSync(d, { recursive: true, force: true });
});

/** What KMS holds, and what the operator's shell happens to hold as well. */
const SECRETS = {
  webhookToken: 'pkg-kms-webhook-token-5d2f0a',
  apiToken: 'pkg-kms-api-token-c81e77',
  databasePassword: 'pkg-kms-db-password-3b9c41',
  harborPassword: 'pkg-kms-harbor-password-e0d1',
};
const DATABASE_URL = `postgres://ferry:${SECRETS.databasePassword}@rm-ferry.pg.rds.aliyuncs.com:5432/ferry`;

const CONFIG = `
sources:
  - kind: harbor
    name: hb
    host: harbor.example.com
    username: \${MY_HARBOR_USER}
    password: \${kms:ferry/harbor-password}
auth:
  webhookTokens: ["\${kms:ferry/webhook-token}"]
  apiTokens: [{name: operator, token: "\${kms:ferry/api-token}", role: admin}]
clouds:
  alibaba:
    kms: {region: cn-hangzhou}
store:
  databaseUrl: \${kms:ferry/database-url}
`;

/** Every file under `root`, as text (zip members inflated), with its path. */
function everyFile(root: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        out.push({ path: p, text: bytes.toString('latin1') });
        if (name.endsWith('.zip')) for (const m of zipMembers(bytes)) out.push({ path: `${p}:${m.name}`, text: m.text });
      }
    }
  };
  walk(root);
  return out;
}

/** The members of a zip (stored or deflated), found through its central directory (sizes may follow the data). */
function zipMembers(zip: Buffer): { name: string; text: string }[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const members: { name: string; text: string }[] = [];
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    members.push({ name, text: (method === 8 ? inflateRawSync(data) : data).toString('latin1') });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return members;
}

let files: { path: string; text: string }[] = [];
let shipped: string;

beforeAll(async () => {
  const config = join(dir, 'ferry.config.yaml');
  writeFileSync(config, CONFIG);
  const env = {
    ...process.env,
    FERRY_ALIYUN_CREDENTIALS: join(ROOT, '.no-such-credentials-file'),
    HOME: '/nonexistent-home',
    FERRY_CONFIG: config,
    MY_HARBOR_USER: 'robot$ferry',
    // The config names its database secret itself (store.databaseUrl). DATABASE_URL=${kms:…} in the
    // deploying shell is left out: serverless.yml passes it through ${env:…}, and the framework then
    // reads "${kms:" as a variable source of its own and fails.
    DATABASE_URL: undefined,
    // What an operator's shell may still hold after creating the secrets: none of it may be packaged.
    FERRY_WEBHOOK_TOKEN: SECRETS.webhookToken,
    FERRY_API_TOKEN: SECRETS.apiToken,
    MY_DATABASE_URL: DATABASE_URL,
    MY_HARBOR_PASSWORD: SECRETS.harborPassword,
  };
  // A project dir of its own (--root): the package tests run in parallel and must not share dist/.
  const project = mkdtempSync(join(tmpdir(), 'ferry-pkg-kms-root-'));
  copyFileSync(join(ROOT, 'serverless.yml'), join(project, 'serverless.yml'));
  symlinkSync(join(ROOT, 'deploy'), join(project, 'deploy'));
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  cleanup.push(project);
  await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--root', project], { cwd: project, env, timeout: 180_000 });
  files = [...everyFile(join(project, '.serverless')), ...everyFile(join(project, 'dist'))];
  shipped = readFileSync(join(project, 'dist/ferry.config.json'), 'utf8');
}, 200_000);

describe('npm run package with secrets from KMS', () => {
  it('ships the config with its ${kms:…} references intact', () => {
    const doc = JSON.parse(shipped);
    expect(doc.auth.webhookTokens).toEqual(['${kms:ferry/webhook-token}']);
    expect(doc.store.databaseUrl).toBe('${kms:ferry/database-url}');
    expect(doc.sources[0].password).toBe('${kms:ferry/harbor-password}');
  });

  it('holds no secret value in any file under .serverless/ or dist/ (zip members included)', () => {
    expect(files.some((f) => f.path.endsWith('ferry.zip'))).toBe(true);
    expect(files.some((f) => f.path.includes('.serverless') && f.path.endsWith('.json'))).toBe(true);
    const found = files.flatMap((f) =>
      Object.entries({ ...SECRETS, DATABASE_URL })
        .filter(([, v]) => f.text.includes(v))
        .map(([k]) => `${k} in ${f.path.slice(ROOT.length + 1)}`),
    );
    expect(found).toEqual([]);
  });
});
