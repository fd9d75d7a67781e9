'use strict';
/**
 * Local Serverless (v3) plugin filling the gaps of serverless-aliyun-function-compute 1.2.6:
 *  - package (after:package:compileFunctions): the aliyun plugin merges all `http` events of one
 *    function into ONE API (named after the function). We give every http event its own API
 *    (unique ApiName) and translate `{param}` path segments to API Gateway's `[param]` syntax.
 *    From the shipped operator config (dist/ferry.config.json) we check that every `${VAR}` it
 *    references is set in this shell (naming each one that is not), put the generated execution
 *    role statements (deploy/ram-policy.cjs) into the compiled role and write
 *    .serverless/ferry-ram-policy.json and .serverless/ferry-environment.json (names, no values).
 *    The templates carry no environment values: they are files on disk, and the aliyun plugin
 *    drops `environment` anyway.
 *  - deploy (after:deploy:deploy), through @alicloud/fc2: the service's vpcConfig (deploy.vpc of
 *    the config; the aliyun plugin never updates a service), each function's environment (values
 *    straight from this shell to FC), the sweep's timer trigger (timer events are silently
 *    ignored by the aliyun plugin) and every function's async-invocation config.
 *  - remove (before:remove:remove): delete the trigger and async configs (404 tolerated).
 * The FC logic lives in plain functions (syncVpc, pushEnvironment, syncTimer, removeTimer,
 * putAsyncConfigs, removeAsyncConfigs, patchCompiledTemplate) testable without serverless.
 * Env: FERRY_FC_ENDPOINT overrides the FC endpoint (local cloud emulator); FERRY_RAM_ACCOUNT_ID is
 * the account id in the policy's resources when the config's deploy.accountId is not set
 * (scripts/package.mjs sets '*' when it packages with dummy credentials).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { configEnvironment, configReferences, missingMessage } = require('./config-env.cjs');
const { deploySettings } = require('./deploy-settings.cjs');
const { ramPolicy } = require('./ram-policy.cjs');

const TIMER_TRIGGER_NAME = 'ferry-sweep-timer';
const CRON_6 = /^(@every\s+\d+[smh](\d+[smh])*|(\S+\s+){5}\S+)$/;

function isNotFound(err) {
  if (!err) return false;
  if (err.status === 404 || err.statusCode === 404) return true;
  if (typeof err.code === 'string' && /NotFound$|NotExist/.test(err.code)) return true;
  return / failed with 404\b/.test(String(err.message));
}

/** Validates and normalises the timer options (cron: six fields incl. seconds, or @every). */
function timerSpec(options) {
  const { serviceName, functionName, cronExpression } = options;
  if (!serviceName) throw new Error('syncTimer: serviceName is required');
  if (!functionName) throw new Error('syncTimer: functionName is required');
  if (typeof cronExpression !== 'string' || !CRON_6.test(cronExpression.trim())) {
    throw new Error(`syncTimer: cronExpression ${JSON.stringify(cronExpression)} must have six fields (with seconds, e.g. '0 */1 * * * *') or be '@every 1m'`);
  }
  return {
    triggerName: options.triggerName || TIMER_TRIGGER_NAME,
    triggerConfig: { cronExpression: cronExpression.trim(), enable: options.enable !== false, payload: options.payload ?? '' },
  };
}

/**
 * getTrigger → 404 → createTrigger, else updateTrigger. Returns 'created' | 'updated'.
 * fcClient: an @alicloud/fc2 Client (or anything with the same methods).
 */
async function syncTimer(fcClient, options) {
  const { triggerName, triggerConfig } = timerSpec(options);
  const { serviceName, functionName } = options;
  let exists = true;
  try {
    await fcClient.getTrigger(serviceName, functionName, triggerName);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    exists = false;
  }
  if (!exists) {
    await fcClient.createTrigger(serviceName, functionName, { triggerName, triggerType: 'timer', triggerConfig });
    return 'created';
  }
  await fcClient.updateTrigger(serviceName, functionName, triggerName, { triggerConfig });
  return 'updated';
}

/** Deletes the timer trigger; returns 'deleted' or 'absent'. */
async function removeTimer(fcClient, options) {
  const triggerName = options.triggerName || TIMER_TRIGGER_NAME;
  try {
    await fcClient.deleteTrigger(options.serviceName, options.functionName, triggerName);
    return 'deleted';
  } catch (err) {
    if (isNotFound(err)) return 'absent';
    throw err;
  }
}

function asyncConfigBody(cfg, fn) {
  const out = {};
  if (cfg.maxAsyncRetryAttempts != null) {
    const n = Number(cfg.maxAsyncRetryAttempts);
    if (!Number.isInteger(n) || n < 0 || n > 8) throw new Error(`async config for ${fn}: maxAsyncRetryAttempts must be an integer 0–8, got ${cfg.maxAsyncRetryAttempts}`);
    out.maxAsyncRetryAttempts = n;
  }
  if (cfg.maxAsyncEventAgeInSeconds != null) {
    const n = Number(cfg.maxAsyncEventAgeInSeconds);
    if (!Number.isInteger(n) || n < 1 || n > 604800) throw new Error(`async config for ${fn}: maxAsyncEventAgeInSeconds must be an integer 1–604800, got ${cfg.maxAsyncEventAgeInSeconds}`);
    out.maxAsyncEventAgeInSeconds = n;
  }
  if (cfg.destinationConfig) out.destinationConfig = cfg.destinationConfig;
  return out;
}

/** configs: [{functionName, maxAsyncRetryAttempts?, maxAsyncEventAgeInSeconds?, destinationConfig?}]. */
async function putAsyncConfigs(fcClient, serviceName, configs, qualifier = 'LATEST') {
  const done = [];
  for (const cfg of configs) {
    const body = asyncConfigBody(cfg, cfg.functionName);
    if (!Object.keys(body).length) continue;
    await fcClient.putFunctionAsyncConfig(serviceName, cfg.functionName, qualifier, body);
    done.push(cfg.functionName);
  }
  return done;
}

async function removeAsyncConfigs(fcClient, serviceName, functionNames, qualifier = 'LATEST') {
  const removed = [];
  for (const fn of functionNames) {
    try {
      await fcClient.deleteFunctionAsyncConfig(serviceName, fn, qualifier);
      removed.push(fn);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return removed;
}

function sameVpc(a, b) {
  if (!a || !b) return false;
  const sw = (v) => [...(v.vSwitchIds || [])].sort().join(',');
  return a.vpcId === b.vpcId && a.securityGroupId === b.securityGroupId && sw(a) === sw(b);
}

/** Puts `vpc` ({vpcId, vSwitchIds, securityGroupId}) on the service; returns 'updated' | 'unchanged'. */
async function syncVpc(fcClient, serviceName, vpc) {
  const current = await fcClient.getService(serviceName);
  if (sameVpc(current.data?.vpcConfig, vpc)) return 'unchanged';
  await fcClient.updateService(serviceName, { vpcConfig: { vpcId: vpc.vpcId, vSwitchIds: [...vpc.vSwitchIds], securityGroupId: vpc.securityGroupId } });
  return 'updated';
}

/** functions: [{name, environmentVariables}]; replaces each function's environment. Returns the names. */
async function pushEnvironment(fcClient, serviceName, functions) {
  const done = [];
  for (const fn of functions) {
    await fcClient.updateFunction(serviceName, fn.name, { environmentVariables: fn.environmentVariables });
    done.push(fn.name);
  }
  return done;
}

/** Reads the [default] section of the aliyun credentials INI (same file the aliyun plugin reads). */
function readCredentials(file) {
  const resolved = file.startsWith('~') ? path.join(os.homedir(), file.slice(1)) : file;
  const text = fs.readFileSync(resolved, 'utf8');
  const out = {};
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1].trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && section === 'default') out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  for (const k of ['aliyun_account_id', 'aliyun_access_key_id', 'aliyun_access_key_secret']) {
    if (!out[k]) throw new Error(`Credentials in ${resolved} do not contain ${k} (section [default])`);
  }
  return out;
}

function createFcClient({ credentialsFile, region, endpoint }) {
  const FC = require('@alicloud/fc2');
  const key = readCredentials(credentialsFile);
  const cfg = { accessKeyID: key.aliyun_access_key_id, accessKeySecret: key.aliyun_access_key_secret, region, timeout: 30000 };
  if (key.aliyun_security_token) cfg.securityToken = key.aliyun_security_token;
  if (endpoint) cfg.endpoint = endpoint;
  return new FC(key.aliyun_account_id, cfg);
}

/** The execution role the aliyun plugin compiles (ALIYUN::RAM::Role trusted by fc.aliyuncs.com). */
function execRolePolicy(resources) {
  for (const r of Object.values(resources)) {
    if (r.Type !== 'ALIYUN::RAM::Role') continue;
    const trusted = JSON.stringify(r.Properties.AssumeRolePolicyDocument || {}).includes('fc.aliyuncs.com');
    const policy = (r.Properties.Policies || []).find((p) => p.PolicyDocument);
    if (trusted && policy) return policy.PolicyDocument;
  }
  return null;
}

/**
 * Fixes the compiled template in place (see header). `functions`: [{name, events}] as in
 * serverless.service; `policy`: the generated RAM policy, whose statements join the exec role's.
 */
function patchCompiledTemplate(resources, functions, policy) {
  if (policy) {
    const doc = execRolePolicy(resources);
    if (!doc) throw new Error('the compiled template has no Function Compute execution role to put the RAM policy in');
    doc.Statement.push(...policy.Statement);
  }
  for (const fn of functions) {
    const httpEvents = (fn.events || []).map((e) => (e.http ? ['http', e.http] : e.https ? ['https', e.https] : null)).filter(Boolean);
    const byType = new Map();
    for (const [type, ev] of httpEvents) byType.set(type, [...(byType.get(type) || []), ev]);
    for (const [type, events] of byType) {
      const merged = Object.entries(resources).find(
        ([, r]) => r.Type === 'ALIYUN::API::HTTP' && r.Properties.ServiceConfig.FunctionComputeConfig.FunctionName === fn.name && r.Properties.RequestConfig.RequestProtocol === type.toUpperCase(),
      );
      if (!merged) continue;
      const [mergedKey, template] = merged;
      delete resources[mergedKey];
      events.forEach((ev, i) => {
        const api = JSON.parse(JSON.stringify(template.Properties));
        const apiName = events.length === 1 ? api.ApiName : `${api.ApiName}_${i}`;
        const params = [];
        const rawPath = ev.path.startsWith('/') ? ev.path : `/${ev.path}`;
        const requestPath = rawPath.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, p) => {
          params.push(p);
          return `[${p}]`;
        });
        api.ApiName = apiName;
        api.RequestConfig.RequestPath = requestPath;
        api.RequestConfig.RequestHttpMethod = String(ev.method || 'GET').toUpperCase();
        api.RequestParameters = [
          ...params.map((p) => ({ ApiParameterName: p, ParameterType: 'String', Location: 'Path', Required: 'REQUIRED', isHide: false, Description: '' })),
          ...(ev.RequestParameters || []),
        ];
        api.ServiceParameters = [...params.map((p) => ({ ServiceParameterName: p, Type: 'String', Location: 'Path', ParameterCatalog: 'REQUEST' })), ...(ev.ServiceParameters || [])];
        api.ServiceParametersMap = [...params.map((p) => ({ ServiceParameterName: p, RequestParameterName: p })), ...(ev.ServiceParametersMap || [])];
        resources[apiName] = { Type: 'ALIYUN::API::HTTP', Properties: api };
      });
    }
  }
  return resources;
}

class FerryFcPlugin {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.hooks = {
      'after:package:compileFunctions': () => this.patchTemplate(),
      'after:deploy:deploy': () => this.afterDeploy(),
      'before:remove:remove': () => this.beforeRemove(),
    };
  }

  log(msg) {
    this.serverless.cli.log(`[ferry] ${msg}`);
  }

  get ferry() {
    return this.serverless.service.custom?.ferry || {};
  }

  functions() {
    const service = this.serverless.service;
    return service.getAllFunctions().map((key) => ({ key, ...service.getFunction(key) }));
  }

  servicePath() {
    return this.serverless.config?.servicePath || process.cwd();
  }

  /** The operator config as `npm run package` shipped it (refs intact). */
  shippedConfig() {
    const file = path.join(this.servicePath(), 'dist', 'ferry.config.json');
    if (!fs.existsSync(file)) throw new Error('dist/ferry.config.json is missing: package with `npm run package` (it ships the operator config there)');
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  }

  /** Non-secret variables of serverless.yml (provider and function `environment`) plus the config's, from this shell. */
  environmentOf(fn, configVars) {
    const vars = {};
    for (const [k, v] of Object.entries({ ...(this.serverless.service.provider.environment || {}), ...(fn.environment || {}) })) if (v != null) vars[k] = String(v);
    return { ...vars, ...configVars };
  }

  configEnvironment(doc) {
    const { vars, missing } = configEnvironment(doc, process.env);
    if (missing.length) throw new Error(missingMessage(missing, 'dist/ferry.config.json'));
    return vars;
  }

  accountId(settings) {
    if (settings.accountId) return settings.accountId;
    if (process.env.FERRY_RAM_ACCOUNT_ID) return process.env.FERRY_RAM_ACCOUNT_ID;
    const key = this.serverless.getProvider('aliyun').key;
    return key?.aliyun_account_id || '*';
  }

  patchTemplate() {
    const service = this.serverless.service;
    const doc = this.shippedConfig();
    const settings = deploySettings(doc);
    this.configEnvironment(doc);
    const region = this.serverless.getProvider('aliyun').options.region;
    const policy = ramPolicy(doc, { accountId: this.accountId(settings), region, vpc: settings.vpc, sweep: this.sweepTarget() });
    patchCompiledTemplate(service.provider.compiledConfigurationTemplate.Resources, this.functions(), policy);
    const out = path.join(this.servicePath(), '.serverless');
    fs.mkdirSync(out, { recursive: true });
    // The whole document the role gets (the aliyun plugin's log statement included): applied as a new
    // policy version after a config change, it must not drop FC's right to ship logs.
    const role = service.provider.compiledConfigurationTemplate.Resources['sls-fc-exec-role'];
    const merged = role?.Properties?.Policies?.[0]?.PolicyDocument ?? policy;
    fs.writeFileSync(path.join(out, 'ferry-ram-policy.json'), `${JSON.stringify(merged, null, 2)}\n`);
    const refs = configReferences(doc);
    const literal = this.environmentOf({}, {});
    const manifest = { literal, fromShell: refs.env, kms: refs.kms, vpc: settings.vpc || null };
    fs.writeFileSync(path.join(out, 'ferry-environment.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /** The sweep function the webhook wakes (fc:InvokeFunction, async), as its environment names it. */
  sweepTarget() {
    const provider = this.serverless.getProvider('aliyun');
    const sweep = this.serverless.service.getFunction(this.ferry.sweep?.function || 'sweep');
    return { service: provider.getServiceName(), function: sweep.name };
  }

  context() {
    const provider = this.serverless.getProvider('aliyun');
    const sweepKey = this.ferry.sweep?.function || 'sweep';
    const sweep = this.serverless.service.getFunction(sweepKey);
    return {
      provider,
      serviceName: provider.getServiceName(),
      sweepFunctionName: sweep.name,
      fc: createFcClient({
        credentialsFile: this.serverless.service.provider.credentials,
        region: provider.options.region,
        endpoint: process.env.FERRY_FC_ENDPOINT || undefined,
      }),
    };
  }

  asyncConfigs() {
    const defaults = this.ferry.async || {};
    return this.functions().map((f) => ({ functionName: f.name, ...defaults, ...(this.ferry.asyncPerFunction?.[f.key] || {}) }));
  }

  async afterDeploy() {
    const sweep = this.ferry.sweep || {};
    if (!sweep.schedule) throw new Error('custom.ferry.sweep.schedule is required (six-field cron, e.g. "0 */1 * * * *")');
    const doc = this.shippedConfig();
    const settings = deploySettings(doc);
    const configVars = this.configEnvironment(doc);
    const { fc, serviceName, sweepFunctionName } = this.context();
    if (settings.vpc) {
      const r = await syncVpc(fc, serviceName, settings.vpc);
      this.log(`vpcConfig ${r} on ${serviceName} (${settings.vpc.vpcId}, ${settings.vpc.vSwitchIds.join(', ')}, ${settings.vpc.securityGroupId})`);
    }
    // The webhook wakes the sweep through these (shared/runtime/sweep-wake.ts).
    const wake = { FERRY_SWEEP_SERVICE: serviceName, FERRY_SWEEP_FUNCTION: sweepFunctionName };
    const envs = this.functions().map((f) => ({ name: f.name, environmentVariables: this.environmentOf(f, { ...configVars, ...wake }) }));
    await pushEnvironment(fc, serviceName, envs);
    this.log(`environment put on ${envs.map((e) => e.name).join(', ')}: ${Object.keys(envs[0]?.environmentVariables || {}).join(', ')}`);
    const result = await syncTimer(fc, { serviceName, functionName: sweepFunctionName, cronExpression: sweep.schedule, payload: sweep.payload, enable: sweep.enabled });
    this.log(`timer trigger ${TIMER_TRIGGER_NAME} ${result} (${sweep.schedule}) on ${serviceName}/${sweepFunctionName}`);
    const done = await putAsyncConfigs(fc, serviceName, this.asyncConfigs());
    if (done.length) this.log(`async config put for ${done.join(', ')}`);
  }

  async beforeRemove() {
    const { fc, serviceName, sweepFunctionName } = this.context();
    const r = await removeTimer(fc, { serviceName, functionName: sweepFunctionName });
    this.log(`timer trigger ${TIMER_TRIGGER_NAME}: ${r}`);
    await removeAsyncConfigs(
      fc,
      serviceName,
      this.functions().map((f) => f.name),
    );
  }
}

module.exports = FerryFcPlugin;
Object.assign(module.exports, {
  TIMER_TRIGGER_NAME,
  syncTimer,
  removeTimer,
  putAsyncConfigs,
  removeAsyncConfigs,
  readCredentials,
  createFcClient,
  patchCompiledTemplate,
  syncVpc,
  pushEnvironment,
  isNotFound,
});
