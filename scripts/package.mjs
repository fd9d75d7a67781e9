#!/usr/bin/env node
/**
 * `npm run package`: bundle the functions, then `serverless package` OFFLINE.
 * Output: .serverless/ferry.zip (dist/ only), .serverless/configuration-template-{create,update}.json.
 * If no credentials INI exists (FERRY_ALIYUN_CREDENTIALS or ~/.aliyun_credentials), a throwaway one
 * with dummy values is written under a temp HOME: packaging never talks to Alibaba Cloud, but the
 * aliyun plugin reads the file (account id goes into bucket/log names).
 *
 * Usage: node scripts/package.mjs [--stage dev] [--skip-bundle] [--entry name=path ...]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAll } from './bundle.mjs';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { stage: 'dev', bundle: true, entries: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stage') opts.stage = argv[++i];
    else if (a === '--skip-bundle') opts.bundle = false;
    else if (a === '--entry') {
      const spec = argv[++i] ?? '';
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--entry expects name=path, got ${JSON.stringify(spec)}`);
      opts.entries.push({ name: spec.slice(0, eq), path: spec.slice(eq + 1) });
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(opts.stage ?? '')) throw new Error('--stage must be letters, digits, - or _');
  return opts;
}

function expandHome(p) {
  return p.startsWith('~') ? join(homedir(), p.slice(1)) : p;
}

/** Environment that keeps serverless v3 and the aliyun plugin off the network. */
export function offlineEnv(base = process.env) {
  return {
    ...base,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_TRACKING_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    SLS_INTERACTIVE_SETUP_DISABLE: '1',
    SLS_AWS_MONITORING_FRAMEWORK_DISABLED: '1',
    SERVERLESS_PLATFORM_STAGE: 'prod',
    // serverless-aliyun-function-compute sends Google Analytics hits unless it believes it runs in CI.
    CI: 'true',
    FORCE_COLOR: '0',
  };
}

function run(cmd, args, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`))));
  });
}

/**
 * The operator's config (FERRY_CONFIG, else ferry.config.{yaml,yml,json} here) goes into the package
 * as dist/ferry.config.json, `${VAR}` references intact: functions resolve them from their environment.
 * A YAML syntax error fails the package, before anything is deployed.
 */
export function shipConfig(env = process.env) {
  const candidates = env.FERRY_CONFIG ? [env.FERRY_CONFIG] : ['ferry.config.yaml', 'ferry.config.yml', 'ferry.config.json'];
  const file = candidates.map((f) => resolve(ROOT, f)).find((f) => existsSync(f));
  if (!file) {
    console.log(`package: no config found (${candidates.join(', ')}); the functions will need FERRY_CONFIG at run time`);
    return null;
  }
  const text = readFileSync(file, 'utf8');
  let doc;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new Error(`${file}: ${err.message.split('\n')[0]}`);
  }
  const out = join(ROOT, 'dist', 'ferry.config.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`package: ${file.slice(ROOT.length + 1)} → dist/ferry.config.json`);
  return out;
}

export async function packageService(opts) {
  if (opts.bundle) await bundleAll({ outdir: 'dist', entries: opts.entries });
  shipConfig();
  for (const name of ['webhook', 'sweep', 'cancel']) {
    if (!existsSync(join(ROOT, 'dist', name, 'index.js'))) throw new Error(`dist/${name}/index.js is missing: run the bundle first`);
  }
  const env = offlineEnv();
  const wanted = expandHome(env.FERRY_ALIYUN_CREDENTIALS || '~/.aliyun_credentials');
  let tempHome;
  if (!existsSync(wanted)) {
    tempHome = mkdtempSync(join(tmpdir(), 'ferry-package-'));
    const ini = join(tempHome, '.aliyun_credentials');
    writeFileSync(ini, '[default]\naliyun_account_id = 1234567890123456\naliyun_access_key_id = dummy-key-id\naliyun_access_key_secret = dummy-key-secret\n', { mode: 0o600 });
    env.HOME = tempHome;
    env.USERPROFILE = tempHome;
    env.FERRY_ALIYUN_CREDENTIALS = ini;
    console.log('package: no Alibaba credentials file found; using dummy credentials (packaging is offline)');
  }
  try {
    await run(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'package', '--stage', opts.stage], env);
  } finally {
    if (tempHome) rmSync(tempHome, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await packageService(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exit(1);
  }
}
