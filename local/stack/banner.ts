/** The text `npm start` prints (to stderr) once everything listens. */
import type { DevToken } from './stack.ts';

export interface BannerInfo {
  apiUrl: string;
  cloudUrl: string;
  ledger: string;
  sweepIntervalMs: number;
  configFile: string;
  example: boolean;
  tokens: DevToken[];
  /** Trigger URLs with the token already elided. */
  triggers: { instanceId: string; namespace: string; repo: string; url: string }[];
  push: { instanceId: string; namespace: string; repo: string; tag: string } | undefined;
  registries?: RegistryBanner | undefined;
  /** Rules that Ferry carries out by copying itself, with a sample image to push at their source. */
  copies?: { kind: 'acr' | 'generic'; key: string; source: string; repository: string; tag: string; to: string[] }[] | undefined;
}

export interface RegistryBanner {
  /** Where blobs and manifests are stored. */
  dir: string;
  acr: { instanceId: string; region: string; url: string }[];
  swr: { region: string; url: string }[];
  /** Plain registries (CNCF distribution's kind) and their user. */
  generic?: { name: string; url: string; username: string }[] | undefined;
  /** The first seeded Huawei AK and its derived login password (development keys). */
  swrLogin: { accessKey: string; password: string } | undefined;
}

/** Where `ferry` (shared/cli) looks without FERRY_URL. */
const DEFAULT_CLI_URL = 'http://127.0.0.1:8080';

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function table(rows: [string, string][], indent = '  '): string[] {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`);
}

/** Shell-quote a value for the copy-paste commands. */
function sh(v: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function hostOf(url: string): string {
  return new URL(url).host;
}

/** The registries and a copy-paste push into each cloud with skopeo (any OCI client works). */
function registryLines(r: RegistryBanner, cloudUrl: string, push: BannerInfo['push']): string[] {
  const lines = ['', `Registries (OCI distribution API, plain HTTP; content in ${r.dir}):`];
  lines.push(
    ...table([
      ...r.acr.map((a): [string, string] => [`ACR ${a.instanceId}`, `${hostOf(a.url)}  (${a.region})`]),
      ...r.swr.map((s): [string, string] => [`SWR ${s.region}`, hostOf(s.url)]),
      ...(r.generic ?? []).map((g): [string, string] => [`registry ${g.name}`, `${hostOf(g.url)}  (plain, user ${g.username}; its pushes notify Ferry)`]),
    ]),
  );
  const acr = r.acr.find((a) => a.instanceId === push?.instanceId) ?? r.acr[0];
  const image = 'oci:./my-image:latest';
  if (acr) {
    const repo = push ? `${push.namespace}/${push.repo}:${push.tag}` : 'team/app:v1.0.0';
    lines.push('', `Push to ACR ${acr.instanceId} with its temporary login (GetAuthorizationToken; here without signing; valid 1 h):`);
    lines.push(`  skopeo copy --insecure-policy --dest-tls-verify=false \\`);
    lines.push(`    --dest-creds "$(curl -s -X POST '${cloudUrl}/_local/registries/acr/${acr.instanceId}/login?format=creds')" \\`);
    lines.push(`    ${image} docker://${hostOf(acr.url)}/${repo}`);
    if (push?.instanceId === acr.instanceId) lines.push('  (a tag pushed there fires its ACR trigger, as a real push does)');
  }
  const swr = r.swr[0];
  if (swr && r.swrLogin) {
    lines.push('', `Push to SWR ${swr.region} (user <region>@<AK>, password hex HMAC-SHA256 keyed with the SK over the AK):`);
    lines.push(`  skopeo copy --insecure-policy --dest-tls-verify=false \\`);
    lines.push(`    --dest-creds ${sh(`${swr.region}@${r.swrLogin.accessKey}:${r.swrLogin.password}`)} \\`);
    lines.push(`    ${image} docker://${hostOf(swr.url)}/team/app:v1.0.0`);
  }
  lines.push('', `All registries and their logins: curl ${cloudUrl}/_local/registries`);
  return lines;
}

export function formatBanner(b: BannerInfo): string {
  const lines: string[] = [];
  lines.push('', 'Ferry is running (local mode: local cloud, development tokens).', '');
  lines.push(
    ...table([
      ['Ferry API', `${b.apiUrl}  (webhooks: POST /webhooks/{kind}; operator: /tasks, /cancel, /replications/{id}, /healthz)`],
      ['Status page', `${b.apiUrl}/ui  (sign in with an API token below)`],
      ['Local cloud', `${b.cloudUrl}  (state: GET ${b.cloudUrl}/_local/state)`],
      ['Ledger', b.ledger],
      ['Sweep', `every ${seconds(b.sweepIntervalMs)}`],
      ['Config', `${b.configFile}${b.example ? ' (+ examples/local.env for unset variables)' : ''}`],
      ...b.triggers.map((t): [string, string] => ['ACR trigger', `${t.instanceId} ${t.namespace}/${t.repo} → ${t.url}`]),
    ]),
  );
  lines.push('', 'Tokens (development only; never use these anywhere else):');
  lines.push(...table(b.tokens.map((t): [string, string] => [t.label, t.printable ? t.token : '(from your environment; not printed)'])));

  const admin = b.tokens.find((t) => t.role === 'admin') ?? b.tokens.find((t) => t.role);
  // Not printable: the operator's own value, named by the variable their config reads it from.
  const tokenValue = admin ? (admin.printable ? admin.token : admin.envVar ? `$${admin.envVar}` : '<api token>') : '<api token>';
  if (b.push) {
    const body = JSON.stringify({ instanceId: b.push.instanceId, namespace: b.push.namespace, repo: b.push.repo, tag: b.push.tag });
    lines.push('', `Simulate a push of ${b.push.namespace}/${b.push.repo}:${b.push.tag} to ${b.push.instanceId} (its trigger calls Ferry's webhook):`);
    lines.push(`  curl -X POST ${b.cloudUrl}/_local/acr/push -H 'content-type: application/json' -d ${sh(body)}`);
  }
  for (const c of b.copies ?? []) {
    const body = JSON.stringify({ repository: c.repository, tag: c.tag });
    lines.push(
      '',
      `Push a sample image to ${c.source} (${c.kind === 'acr' ? `ACR ${c.key}; its trigger` : `registry ${c.key}; its notification`} calls Ferry, which copies it to ${c.to.join(', ')} itself):`,
    );
    lines.push(`  curl -X POST ${b.cloudUrl}/_local/registries/${c.kind}/${c.key}/images -H 'content-type: application/json' -d ${sh(body)}`);
  }
  if (b.registries) lines.push(...registryLines(b.registries, b.cloudUrl, b.push));
  lines.push('', 'Then watch the replication reach succeeded:');
  lines.push(`  ${b.apiUrl === DEFAULT_CLI_URL ? '' : `FERRY_URL=${b.apiUrl} `}FERRY_API_TOKEN=${tokenValue} npx ferry tasks`);
  lines.push(`  curl -H "authorization: Bearer ${tokenValue}" ${b.apiUrl}/tasks`);
  lines.push('', 'Logs (JSON lines) follow on stdout. Ctrl-C stops everything.', '');
  return lines.join('\n');
}
