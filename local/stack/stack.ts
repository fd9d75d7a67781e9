/**
 * `npm start`: the whole Ferry system in one process, on embedded defaults.
 *   - the local cloud (FERRY_CLOUD_PORT, default 8090), seeded from the config's `localCloud`
 *   - the ledger: PGlite under <store.dataDir>/ledger (FERRY_DATA_DIR overrides), or PostgreSQL (DATABASE_URL)
 *   - ONE HTTP server (PORT, default 8080, 127.0.0.1): /webhooks/* → webhook app, the rest → API app
 *   - the sweep every FERRY_SWEEP_INTERVAL (default 5 s), never overlapping
 *   - an ACR repository trigger in the local cloud for every seeded repository of each ACR source,
 *     pointing at Ferry's own webhook URL
 *   - the local cloud's registries (one per ACR instance and per SWR region) on the seed's fixed ports
 *     (free ports when FERRY_CLOUD_PORT is 0, as in tests), storing under <data dir>/registry
 * Config: FERRY_CONFIG, else examples/ferry.config.yaml with examples/local.env as defaults for unset
 * variables. The example's cloud endpoints (${FERRY_LOCAL_CLOUD_URL}) resolve to the local cloud in use.
 * Local mode only: a config without tokens gets generated development tokens.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type FerryConfig } from '../../shared/config/index.ts';
import { readConfigDocument } from '../../shared/config/load.ts';
import { loadResolvedConfig } from '../../shared/config/resolve.ts';
import { REF } from '../../shared/config/secrets.ts';
import { kmsSecretFetcher } from '../../shared/runtime/kms-secrets.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { localCloudSeedSchema, type LocalCloudSeed } from '../cloud/seed.ts';
import { Ledger, ledgerDirOf } from '../../shared/ledger/index.ts';
import { startLocalCloud, type LocalCloud } from '../cloud/server.ts';
import { createLogger, registerSecret, type Logger } from '../../shared/log.ts';
import { makeDeps, type Deps } from '../../shared/replicate/deps.ts';
import type { Clock } from '../../shared/clock.ts';
import type { FetchApp } from '../../shared/runtime/context.ts';
import { serveNode, type NodeServer } from '../../shared/runtime/node-http.ts';
import { routeByPath, serveApp } from './app.ts';
import { formatBanner, type BannerInfo } from './banner.ts';
import { durationSetting, portSetting, positiveNumberSetting, readEnvFile, type Env } from './env.ts';
import { startSweepLoop, type SweepLoop } from './sweep-loop.ts';
import { sweepWaker } from '../../shared/webhook/wake.ts';
import { swrLoginPassword } from '../../shared/providers/swr/registry-login.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLE_CONFIG = join(ROOT, 'examples', 'ferry.config.yaml');
export const EXAMPLE_ENV = join(ROOT, 'examples', 'local.env');
export const EXAMPLE_SEED = join(ROOT, 'examples', 'local-cloud.yaml');

export const DEFAULT_API_PORT = 8080;
export const DEFAULT_CLOUD_PORT = 8090;
export const DEFAULT_SWEEP_INTERVAL_MS = 5000;

/** What the stack runs; injectable so the stack can be tested without the real apps. */
export interface FerryApps {
  createWebhookApp(deps: Deps, options?: { wakeSweep?: () => Promise<void> }): FetchApp | Promise<FetchApp>;
  createApiApp(deps: Deps): FetchApp | Promise<FetchApp>;
  runSweep(deps: Deps): Promise<unknown>;
}

export async function realApps(): Promise<FerryApps> {
  const [webhook, api, sweep] = await Promise.all([import('../../shared/webhook/app.ts'), import('../../shared/api/app.ts'), import('../../shared/sweep/run.ts')]);
  return {
    createWebhookApp: (deps, options) => webhook.createWebhookApp(deps, options),
    createApiApp: (deps) => api.createApiApp(deps),
    runSweep: (deps) => sweep.runSweep(deps),
  };
}

export interface LocalStackOptions {
  /** Default process.env. Read: FERRY_CONFIG, PORT, FERRY_CLOUD_PORT, FERRY_SWEEP_INTERVAL, FERRY_DATA_DIR,
   *  FERRY_CLOUD_SPEED, DATABASE_URL and whatever the config references. */
  env?: Env;
  /** Relative config/data paths resolve against this. Default process.cwd(). */
  cwd?: string;
  /** Human-readable banner (default: stderr; stdout carries only JSON log lines). */
  print?: (text: string) => void;
  log?: Logger;
  apps?: FerryApps;
  /** Where the HTTP servers listen. Default 127.0.0.1. */
  host?: string;
}

export interface DevToken {
  label: string;
  token: string;
  /** False when the value came from the operator's own environment: never printed then. */
  printable: boolean;
  role?: 'admin' | 'read';
  /** The environment variable the config file reads it from (`${VAR}`), when it names one. */
  envVar?: string;
}

export interface LocalStack {
  apiUrl: string;
  cloudUrl: string;
  cloud: LocalCloud;
  config: FerryConfig;
  ledger: Ledger;
  deps: Deps;
  tokens: DevToken[];
  banner: string;
  /** Webhook URL (token in the query) registered as ACR trigger, per source repository. */
  triggers: { instanceId: string; namespace: string; repo: string; url: string }[];
  close(): Promise<void>;
}

interface ResolvedConfigSource {
  path: string;
  env: Env;
  /** Values that came from examples/local.env (development values, safe to print). */
  devValues: Set<string>;
  example: boolean;
}

function configSource(env: Env, cwd: string): ResolvedConfigSource {
  if (env.FERRY_CONFIG) return { path: resolve(cwd, env.FERRY_CONFIG), env: { ...env }, devValues: new Set(), example: false };
  const defaults = existsSync(EXAMPLE_ENV) ? readEnvFile(EXAMPLE_ENV) : {};
  const merged: Env = { ...env };
  const devValues = new Set<string>();
  for (const [k, v] of Object.entries(defaults)) {
    if (k === 'FERRY_CONFIG' || (merged[k] !== undefined && merged[k] !== '')) continue;
    merged[k] = v;
    devValues.add(v);
  }
  return { path: EXAMPLE_CONFIG, env: merged, devValues, example: true };
}

function generated(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** Local mode: a config without tokens still gets a working (random, printed) pair. */
function withDevTokens(config: FerryConfig, devValues: Set<string>): FerryConfig {
  const auth = { ...config.auth, webhookTokens: [...config.auth.webhookTokens], apiTokens: [...config.auth.apiTokens] };
  const extra: string[] = [];
  if (!auth.webhookTokens.length) {
    const token = generated('dev-webhook');
    auth.webhookTokens.push({ token });
    extra.push(token);
  }
  if (!auth.apiTokens.length) {
    const token = generated('dev-admin');
    auth.apiTokens.push({ name: 'dev-admin', token, role: 'admin' });
    extra.push(token);
  }
  for (const t of extra) {
    registerSecret(t);
    devValues.add(t);
  }
  return extra.length ? { ...config, auth, secretValues: [...config.secretValues, ...extra] } : config;
}

/**
 * Each API token's `${VAR}` as the config file writes it (the parsed config holds values only), so the
 * banner can suggest the variable the operator actually set. Undefined for inline or KMS references.
 */
function apiTokenVariables(file: string): (string | undefined)[] {
  try {
    const doc = readConfigDocument({ path: file }).doc as { auth?: { apiTokens?: unknown } } | null;
    const tokens = doc?.auth?.apiTokens;
    return Array.isArray(tokens) ? tokens.map((t) => REF.exec(String((t as { token?: unknown } | null)?.token ?? ''))?.[1]) : [];
  } catch {
    return [];
  }
}

function devTokens(config: FerryConfig, devValues: Set<string>, configFile: string): DevToken[] {
  const out: DevToken[] = [];
  const variables = apiTokenVariables(configFile);
  config.auth.webhookTokens.forEach((t, i) => {
    out.push({ label: `webhook${config.auth.webhookTokens.length > 1 ? ` #${i + 1}` : ''}${t.sources ? ` (${t.sources.join(', ')})` : ''}`, token: t.token, printable: devValues.has(t.token) });
  });
  config.auth.apiTokens.forEach((t, i) => {
    const envVar = variables[i];
    out.push({ label: `${t.name ?? `api #${i + 1}`} (${t.role})`, token: t.token, printable: devValues.has(t.token), role: t.role, ...(envVar ? { envVar } : {}) });
  });
  return out;
}

function ferryClock(cloud: LocalCloud): Clock {
  // Ferry and the local cloud share one (virtual) time line, as in the test stack.
  return {
    now: () => cloud.clock.now(),
    sleep: (ms, signal) =>
      new Promise<void>((res, rej) => {
        if (signal?.aborted) return rej(signal.reason);
        const onAbort = () => rej(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        void cloud.clock.sleep(ms).then(() => {
          signal?.removeEventListener('abort', onAbort);
          res();
        });
      }),
  };
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const baseEnv = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const host = opts.host ?? '127.0.0.1';
  const print = opts.print ?? ((text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`));
  const log = opts.log ?? createLogger({ service: 'ferry', mode: 'local' });

  const apiPort = portSetting(baseEnv, 'PORT', DEFAULT_API_PORT);
  const cloudPort = portSetting(baseEnv, 'FERRY_CLOUD_PORT', DEFAULT_CLOUD_PORT);
  const sweepIntervalMs = durationSetting(baseEnv, 'FERRY_SWEEP_INTERVAL', DEFAULT_SWEEP_INTERVAL_MS);
  const cloudSpeed = positiveNumberSetting(baseEnv, 'FERRY_CLOUD_SPEED');

  const source = configSource(baseEnv, cwd);
  const cloudUrlGiven = Boolean(baseEnv.FERRY_LOCAL_CLOUD_URL);
  const envFor = (cloud: LocalCloud): Env => ({ ...(cloudUrlGiven ? source.env : { ...source.env, FERRY_LOCAL_CLOUD_URL: cloud.url }), ...registryEnv(cloud, source.env) });
  const seed = localSeed(baseEnv.FERRY_LOCAL_CLOUD_SEED ? resolve(cwd, baseEnv.FERRY_LOCAL_CLOUD_SEED) : EXAMPLE_SEED);

  const cleanup: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
  };
  // The registries' folder lives in the data directory, known once the config is read (which needs the cloud's URL).
  let registryDir: string | undefined;
  try {
    const cloud = await startLocalCloud({
      port: cloudPort,
      host,
      registry: {
        ports: cloudPort === 0 ? 'ephemeral' : 'seed',
        dataDir: () => {
          if (!registryDir) throw new Error('the registry data directory is not known yet');
          return registryDir;
        },
      },
      ...(seed ? { seed } : {}),
      ...(cloudSpeed ? { speed: cloudSpeed } : {}),
      log: (line) => log.info(line.replace(/^\[local-cloud\]\s*/, ''), { component: 'local-cloud' }),
    });
    cleanup.push(() => cloud.close());

    const configEnv = envFor(cloud);
    const loaded = await loadResolvedConfig({ path: source.path, env: configEnv, cwd }, (unresolved) => kmsSecretFetcher(unresolved, { env: configEnv }));
    const config = withDevTokens(loaded, source.devValues);
    const clock = ferryClock(cloud);
    const store = config.store;
    const dataDir = resolve(cwd, baseEnv.FERRY_DATA_DIR || (store.kind === 'pglite' ? store.dataDir : '.ferry'));
    registryDir = join(dataDir, 'registry');
    const ledger = await Ledger.open({
      ...(store.kind === 'postgres' ? { databaseUrl: store.databaseUrl } : { dataDir: ledgerDirOf(dataDir) }),
      now: () => clock.now(),
    });
    cleanup.push(() => ledger.close());

    const deps = makeDeps({ config, ledger, clock, log, env: source.env, workerId: `local-${process.pid}` });
    const apps = opts.apps ?? (await realApps());
    // Work a delivery leaves to the sweep starts it now, not at its next tick (the loop never overlaps runs).
    let sweepLoop: SweepLoop | undefined;
    const waker = sweepWaker({ wake: async () => sweepLoop?.wake(), clock, log: log.child({ component: 'sweep' }) });
    const [webhookApp, apiApp] = await Promise.all([apps.createWebhookApp(deps, { wakeSweep: waker.wake }), apps.createApiApp(deps)]);
    const served = serveApp(routeByPath(webhookApp, apiApp), log.child({ component: 'http' }));
    const server: NodeServer = await serveNode(served.app, {
      port: apiPort,
      host,
      context: { functionName: 'ferry-local' },
      onError: (err) => log.error('http server error', { err }),
    });
    cleanup.push(() => server.close());

    const triggers = registerAcrTriggers(cloud, config, server.url, log);
    connectPlainRegistries(cloud, config, server.url, log);
    const loop = startSweepLoop(() => apps.runSweep(deps), sweepIntervalMs, log.child({ component: 'sweep' }));
    sweepLoop = loop;
    cleanup.push(() => loop.stop());

    const tokens = devTokens(config, source.devValues, source.path);
    const info: BannerInfo = {
      apiUrl: server.url,
      cloudUrl: cloud.url,
      ledger: store.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${shortPath(cwd, ledgerDirOf(dataDir))}`,
      sweepIntervalMs,
      configFile: shortPath(cwd, source.path),
      example: source.example,
      tokens,
      triggers: triggers.map((t) => ({ ...t, url: t.url.replace(/token=[^&]*/, 'token=…') })),
      push: samplePush(config, cloud),
      copies: sampleCopies(config, cloud),
      registries: registryBanner(cloud, shortPath(cwd, registryDir)),
    };
    const banner = formatBanner(info);
    print(banner);
    log.info('local stack ready', { apiUrl: server.url, cloudUrl: cloud.url, sweepIntervalMs, ledger: store.kind });

    let closing: Promise<void> | undefined;
    return {
      apiUrl: server.url,
      cloudUrl: cloud.url,
      cloud,
      config,
      ledger,
      deps,
      tokens,
      banner,
      triggers,
      close() {
        closing ??= (async () => {
          log.info('local stack stopping');
          await loop.stop();
          const drained = await served.drain(10_000);
          if (!drained) log.warn('requests still running after 10 s; closing anyway (their tasks stay pending for the sweep)', { inFlight: served.inFlight });
          await server.close();
          await ledger.close();
          await cloud.close();
          log.info('local stack stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** Relative to cwd when inside it, else absolute. */
function shortPath(cwd: string, p: string): string {
  const rel = relative(cwd, p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

/** The webhook URL an ACR trigger calls: the token rides in the query (ACR triggers cannot set headers). */
export function acrWebhookUrl(apiUrl: string, token: string, instanceId: string): string {
  const u = new URL('/webhooks/acr', apiUrl);
  u.searchParams.set('token', token);
  u.searchParams.set('instance', instanceId);
  return u.toString();
}

function registerAcrTriggers(cloud: LocalCloud, config: FerryConfig, apiUrl: string, log: Logger): LocalStack['triggers'] {
  const out: LocalStack['triggers'] = [];
  for (const src of config.sources) {
    if (src.kind !== 'acr') continue;
    const token = config.auth.webhookTokens.find((t) => !t.sources || t.sources.includes(src.name))?.token;
    if (!token) {
      log.warn('no webhook token may push for this ACR source; no trigger registered', { source: src.name });
      continue;
    }
    const instance = cloud.seed.alibaba.instances.find((i) => i.instanceId === src.instanceId);
    if (!instance) {
      log.warn('ACR source instance is not in the local cloud seed; no trigger registered', { source: src.name, instanceId: src.instanceId });
      continue;
    }
    const url = acrWebhookUrl(apiUrl, token, src.instanceId);
    for (const ns of instance.namespaces) {
      for (const repo of ns.repos) {
        cloud.acr.addTrigger({ instanceId: src.instanceId, namespace: ns.name, repo: repo.name, url, name: 'ferry' });
        out.push({ instanceId: src.instanceId, namespace: ns.name, repo: repo.name, url });
      }
    }
  }
  return out;
}

/**
 * `FERRY_LOCAL_REGISTRY_<KEY>` for every registry of the local cloud (`CRI_LOCALSRC001`, `CN_NORTH_4`, `LAN`):
 * the example config's `registry:`/`url:` fields, on whatever ports the registries got. A value the
 * environment already holds wins.
 */
export function registryEnv(cloud: Pick<LocalCloud, 'registries'>, given: Env): Env {
  const out: Env = {};
  for (const urls of [cloud.registries.acr, cloud.registries.swr, cloud.registries.generic]) {
    for (const [key, url] of Object.entries(urls)) {
      const name = `FERRY_LOCAL_REGISTRY_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
      if (!given[name] || given[name] === localEnvDefault(name)) out[name] = url;
    }
  }
  return out;
}

const exampleEnv = existsSync(EXAMPLE_ENV) ? readEnvFile(EXAMPLE_ENV) : {};
function localEnvDefault(name: string): string | undefined {
  return exampleEnv[name];
}

/** A plain registry of the local cloud that a distribution (or Harbor) source names by URL notifies Ferry's webhook, as distribution's `notifications.endpoints` would. */
function connectPlainRegistries(cloud: LocalCloud, config: FerryConfig, apiUrl: string, log: Logger): void {
  for (const [name, url] of Object.entries(cloud.registries.generic)) {
    const src = config.sources.find((s) => (s.kind === 'distribution' || s.kind === 'harbor') && s.url === url);
    if (!src) continue;
    const token = config.auth.webhookTokens.find((t) => !t.sources || t.sources.includes(src.name))?.token;
    if (!token) {
      log.warn('no webhook token may push for this registry source; its pushes are not announced', { source: src.name });
      continue;
    }
    const hook = new URL(`/webhooks/${src.kind}`, apiUrl);
    hook.searchParams.set('source', src.name);
    cloud.notifyRegistry(name, [{ url: hook.toString(), headers: { authorization: `Bearer ${token}` } }]);
  }
}

/** For the banner: per rule with `copy` targets from a local registry, a sample image to push there. */
function sampleCopies(config: FerryConfig, cloud: LocalCloud): NonNullable<BannerInfo['copies']> {
  const literal = (pattern: string, fallback: string) => (/[*?[\]{}/]/.test(pattern) || pattern.startsWith('/') ? fallback : pattern);
  const out: NonNullable<BannerInfo['copies']> = [];
  for (const rule of config.rules) {
    const to = rule.targets.filter((t) => t.provider === 'copy').map((t) => String((t as { registry?: unknown }).registry));
    const src = config.sources.find((s) => s.name === rule.source);
    if (!to.length || !src) continue;
    const repository = `${literal(rule.namespace, 'team')}/${literal(rule.repository, 'app')}`;
    if (src.kind === 'acr' && src.instanceId in cloud.registries.acr) out.push({ kind: 'acr', key: src.instanceId, source: src.name, repository, tag: 'v1.0.0', to });
    const plain = Object.entries(cloud.registries.generic).find(([, url]) => (src.kind === 'distribution' || src.kind === 'harbor') && src.url === url);
    if (plain) out.push({ kind: 'generic', key: plain[0], source: src.name, repository, tag: 'v1.0.0', to });
  }
  return out;
}

function registryBanner(cloud: LocalCloud, dir: string): BannerInfo['registries'] {
  const region = (id: string) => cloud.seed.alibaba.instances.find((i) => i.instanceId === id)?.region ?? '';
  const swrKey = cloud.seed.huawei.credentials[0];
  return {
    dir,
    acr: Object.entries(cloud.registries.acr).map(([instanceId, url]) => ({ instanceId, region: region(instanceId), url })),
    swr: Object.entries(cloud.registries.swr).map(([r, url]) => ({ region: r, url })),
    generic: cloud.seed.registry.generic.map((g) => ({ name: g.name, url: cloud.registries.generic[g.name] ?? '', username: g.username })),
    swrLogin: swrKey ? { accessKey: swrKey.accessKey, password: swrLoginPassword(swrKey.accessKey, swrKey.secretKey) } : undefined,
  };
}

/** A push that the config replicates: the first seeded repository of the first ACR source, tag v1.0.0. */
function samplePush(config: FerryConfig, cloud: LocalCloud): BannerInfo['push'] {
  for (const src of config.sources) {
    if (src.kind !== 'acr') continue;
    const instance = cloud.seed.alibaba.instances.find((i) => i.instanceId === src.instanceId);
    const ns = instance?.namespaces.find((n) => n.repos.length > 0);
    if (ns) return { instanceId: src.instanceId, namespace: ns.name, repo: ns.repos[0]!.name, tag: 'v1.0.0' };
  }
  return undefined;
}

/** The local cloud's seed file: its own YAML/JSON document, validated here (Ferry's config has no emulator section). */
function localSeed(file: string): LocalCloudSeed {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ path: '(seed)', message: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}` }], file);
  }
  const r = localCloudSeedSchema.safeParse(doc ?? {});
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((i) => ({ path: i.path.join('.') || '(seed)', message: i.message })),
    file,
  );
}
