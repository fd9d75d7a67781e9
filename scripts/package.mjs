#!/usr/bin/env node
/**
 * `npm run package`: check the operator config, bundle the functions, then `serverless package`
 * OFFLINE, then write the Serverless Devs (FC 3.0) s.yaml.
 * Output: dist/ (emptied first: nothing stale ships) with the config as dist/ferry.config.json,
 * .serverless/ferry.zip (dist/ only), .serverless/configuration-template-{create,update}.json,
 * .serverless/ferry-ram-policy.json, .serverless/ferry-environment.json, s.yaml.
 * Fails, before bundling, without an operator config, with an empty or invalid one, or when a
 * `${VAR}` it references is unset in this shell (each one named).
 * If no credentials INI exists (FERRY_ALIYUN_CREDENTIALS or ~/.aliyun_credentials), a throwaway one
 * with dummy values is written under a temp HOME: packaging never talks to Alibaba Cloud, but the
 * aliyun plugin reads the file (account id goes into bucket/log names).
 *
 * Usage: node scripts/package.mjs [--stage dev] [--skip-bundle] [--entry name=path ...] [--root dir]
 * (--root: a directory holding serverless.yml, deploy/ and node_modules; default this repo.)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, parse as parseYaml } from 'yaml';
import { bundleAll } from './bundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { configEnvironment, missingMessage } = require('../deploy/config-env.cjs');
const { deploySettings } = require('../deploy/deploy-settings.cjs');
const { fc3Template } = require('../deploy/fc3-template.cjs');

export const CONFIG_FILES = ['ferry.config.yaml', 'ferry.config.yml', 'ferry.config.json'];

function parseArgs(argv) {
  const opts = { stage: 'dev', bundle: true, entries: [], root: ROOT };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stage') opts.stage = argv[++i];
    else if (a === '--skip-bundle') opts.bundle = false;
    else if (a === '--root') opts.root = resolve(argv[++i] ?? '');
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

function run(cmd, args, env, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`))));
  });
}

/** A YAML or JSON syntax error by line and column only: the parsers' messages may quote the text. */
function parseConfigText(text, file) {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = text.slice(0, first.pos[0]).split('\n').length;
    throw new Error(`${file}: ${/\.json$/i.test(file) ? 'JSON' : 'YAML'} syntax error at line ${line} (${first.code})`);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Finds and checks the operator's config (FERRY_CONFIG, else ferry.config.{yaml,yml,json} in
 * `root`). Throws, naming the file and every problem, when there is none or it would not start.
 */
export async function loadOperatorConfig(root, env = process.env) {
  let file;
  if (env.FERRY_CONFIG) {
    file = resolve(root, env.FERRY_CONFIG);
    if (!existsSync(file)) throw new Error(`FERRY_CONFIG names ${file}, which does not exist`);
  } else {
    file = CONFIG_FILES.map((f) => join(root, f)).find((f) => existsSync(f));
    if (!file) throw new Error(`no operator config: write ${CONFIG_FILES[0]} in ${root} or set FERRY_CONFIG to the config file's path`);
  }
  const shown = relative(root, file).startsWith('..') ? file : relative(root, file);
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') throw new Error(`${shown} is empty`);
  const doc = parseConfigText(text, shown);
  if (doc === null || doc === undefined) throw new Error(`${shown} holds no settings (only comments?)`);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${shown} must be a mapping of settings (sources, rules, auth, …)`);
  deploySettings(doc);
  const { missing } = configEnvironment(doc, env);
  if (missing.length) throw new Error(missingMessage(missing, shown));
  const { tsImport } = await import('tsx/esm/api');
  const { configProblems } = await tsImport('./check-config.ts', import.meta.url);
  const problems = configProblems(doc, env);
  if (problems.length) throw new Error(`${shown} would not start a deployed Ferry:\n  ${problems.join('\n  ')}`);
  return { file: shown, doc };
}

function credentialsEnv(env) {
  const wanted = expandHome(env.FERRY_ALIYUN_CREDENTIALS || '~/.aliyun_credentials');
  if (existsSync(wanted)) return null;
  const tempHome = mkdtempSync(join(tmpdir(), 'ferry-package-'));
  const ini = join(tempHome, '.aliyun_credentials');
  writeFileSync(ini, '[default]\naliyun_account_id = 1234567890123456\naliyun_access_key_id = dummy-key-id\naliyun_access_key_secret = dummy-key-secret\n', { mode: 0o600 });
  Object.assign(env, { HOME: tempHome, USERPROFILE: tempHome, FERRY_ALIYUN_CREDENTIALS: ini });
  // The dummy account must not end up in the RAM policy's resources.
  if (!env.FERRY_RAM_ACCOUNT_ID) env.FERRY_RAM_ACCOUNT_ID = '*';
  console.log('package: no Alibaba credentials file found; using dummy credentials (packaging is offline)');
  return tempHome;
}

export async function packageService(opts) {
  const root = opts.root ?? ROOT;
  const dist = join(root, 'dist');
  if (opts.bundle) rmSync(dist, { recursive: true, force: true });
  else rmSync(join(dist, 'ferry.config.json'), { force: true });
  const { file, doc } = await loadOperatorConfig(root);
  if (opts.bundle) await bundleAll({ outdir: dist, entries: opts.entries });
  for (const name of ['webhook', 'sweep', 'cancel']) {
    if (!existsSync(join(dist, name, 'index.js'))) throw new Error(`dist/${name}/index.js is missing: run the bundle first`);
  }
  mkdirSync(dist, { recursive: true });
  // `${VAR}` references intact: the functions resolve them from their environment.
  writeFileSync(join(dist, 'ferry.config.json'), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`package: ${file} → dist/ferry.config.json`);
  const env = offlineEnv();
  const tempHome = credentialsEnv(env);
  try {
    await run(process.execPath, [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'package', '--stage', opts.stage], env, root);
  } finally {
    if (tempHome) rmSync(tempHome, { recursive: true, force: true });
  }
  const sls = parseYaml(readFileSync(join(root, 'serverless.yml'), 'utf8'));
  const region = process.env.FERRY_REGION || 'cn-hangzhou';
  writeFileSync(join(root, 's.yaml'), fc3Template({ sls, doc, settings: deploySettings(doc), stage: opts.stage, region }));
  console.log('package: s.yaml (Serverless Devs, FC 3.0) written');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await packageService(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exit(1);
  }
}
