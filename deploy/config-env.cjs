'use strict';
/**
 * The functions' environment, derived from the operator config (refs intact, as shipped in
 * dist/ferry.config.json): every `${VAR}` it references comes from the deploying shell.
 * `${kms:NAME}` references are secrets the functions fetch from KMS at cold start: never
 * environment variables, never required here.
 */
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const KMS_REF = /^\$\{kms:([^}]+)\}$/;

/** `deploy:` is read by packaging only: refs there are not the functions' business. */
const DEPLOY_ONLY = new Set(['deploy']);

/** { env: [VAR…], kms: [NAME…] }, each sorted and unique. */
function configReferences(doc) {
  const env = new Set();
  const kms = new Set();
  const walk = (node, top) => {
    if (typeof node === 'string') {
      const e = ENV_REF.exec(node);
      if (e) env.add(e[1]);
      const k = KMS_REF.exec(node);
      if (k) kms.add(k[1]);
    } else if (Array.isArray(node)) {
      for (const v of node) walk(v, false);
    } else if (node && typeof node === 'object') {
      for (const [key, v] of Object.entries(node)) if (!(top && DEPLOY_ONLY.has(key))) walk(v, false);
    }
  };
  walk(doc, true);
  // Without store.databaseUrl the ledger's only PostgreSQL source is env DATABASE_URL, and a
  // deployed function refuses to start on the embedded one (shared/runtime/bootstrap.ts).
  if (doc && typeof doc === 'object' && !(doc.store && doc.store.databaseUrl !== undefined)) env.add('DATABASE_URL');
  return { env: [...env].sort(), kms: [...kms].sort() };
}

/** The variables the config needs, with their values from `shell`; `missing` lists each unset (or empty) one. */
function configEnvironment(doc, shell) {
  const { env } = configReferences(doc);
  const vars = {};
  const missing = [];
  for (const name of env) {
    const value = shell[name];
    if (value === undefined || value === '') missing.push(name);
    else vars[name] = value;
  }
  return { vars, missing };
}

function missingMessage(missing, file) {
  const where = file ? ` by ${file}` : '';
  return (
    `${missing.length} environment variable${missing.length === 1 ? '' : 's'} referenced${where} ${missing.length === 1 ? 'is' : 'are'} not set in this shell: ${missing.join(', ')}. ` +
    'Set each before packaging or deploying (the functions get them as environment variables), or reference a secret as ${kms:SECRET_NAME}.'
  );
}

module.exports = { ENV_REF, KMS_REF, configReferences, configEnvironment, missingMessage };
