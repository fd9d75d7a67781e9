/**
 * The async step of loading a config: `${kms:…}` secrets. The file is validated first with the
 * secrets unresolved (a mistake in it is reported before any KMS call), then every secret it
 * names is fetched at once, then the file is validated again with their values in place.
 */
import { ConfigError, type ConfigIssue } from './errors.ts';
import { finish, parseConfig, readConfigDocument, type FerryConfig, type LoadOptions } from './load.ts';

/** Reads one secret's value; rejects with a message naming the secret (never a value). */
export type SecretFetcher = (name: string) => Promise<string>;

/**
 * Like loadConfig, with the `${kms:…}` secrets resolved. `fetcher` is built from the unresolved
 * config (it says where KMS is and which keys sign) and asked once per distinct secret.
 */
export async function loadResolvedConfig(options: LoadOptions, fetcher: (unresolved: FerryConfig) => SecretFetcher): Promise<FerryConfig & { file: string | undefined }> {
  const env = options.env ?? process.env;
  const { doc, file } = readConfigDocument(options);
  const unresolved = parseConfig(doc, env, file);
  const refs = unresolved.kms?.refs ?? [];
  if (!refs.length) return finish({ ...unresolved, file }, options);
  const fetch = fetcher(unresolved);
  const results = await Promise.allSettled(refs.map((r) => fetch(r.name)));
  const values = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  results.forEach((r, i) => {
    const ref = refs[i]!;
    if (r.status === 'fulfilled') values.set(ref.name, r.value);
    else issues.push({ path: ref.fields.join(', ') || `\${kms:${ref.name}}`, message: (r.reason as Error).message });
  });
  if (issues.length) throw new ConfigError(issues, file);
  return finish({ ...parseConfig(doc, env, file, values), file }, options);
}
