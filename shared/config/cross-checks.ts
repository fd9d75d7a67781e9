import { providerNamed, providers } from '../providers/registry.ts';
import { compileGlob, hasWildcard } from '../rules/glob.ts';
import type { RawIssue } from './errors.ts';

/**
 * Checks that relate fields to each other: names referenced elsewhere, duplicates,
 * targets a rule's sources can feed. They read the raw document defensively so they
 * run (and report) even when other fields are malformed.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface SourceInfo {
  name: string;
  kind: string | undefined;
  region: string | undefined;
}

const KIND_NAMES: Record<string, string> = { harbor: 'Harbor', distribution: 'distribution', dockerhub: 'Docker Hub' };
/** With its article: "an ACR", "a Harbor". */
function kindName(kind: string | undefined): string {
  const name = (kind && (providerNamed(kind)?.title ?? KIND_NAMES[kind])) || 'unknown kind of';
  return `${/^[AEIOSu]/.test(name) ? 'an' : 'a'} ${name}`;
}

export function crossCheck(raw: unknown): RawIssue[] {
  if (!isObj(raw)) return [];
  const issues: RawIssue[] = [];

  const rawSources = arr(raw.sources).filter(isObj);
  const clouds = isObj(raw.clouds) ? raw.clouds : {};
  const sources: SourceInfo[] = [];
  const firstSource = new Map<string, number>();
  arr(raw.sources).forEach((s, i) => {
    if (!isObj(s)) return;
    const name = str(s.name);
    if (name === undefined) return;
    const seen = firstSource.get(name);
    if (seen !== undefined) issues.push({ path: ['sources', i, 'name'], message: `duplicate source name "${name}" (also sources[${seen}])` });
    else {
      firstSource.set(name, i);
      sources.push({ name, kind: str(s.kind), region: str(s.region) });
    }
  });
  const known = sources.map((s) => s.name);
  // A mirror is a source a cloud copies from natively: one whose kind has a provider of its own.
  const mirrorable = [...new Set(providers().flatMap((p) => p.sourceKinds))].filter((k) => providerNamed(k));
  arr(raw.sources).forEach((s, i) => {
    const mirror = isObj(s) ? str(s.mirrorOf) : undefined;
    if (mirror === undefined) return;
    const target = sources.find((t) => t.name === mirror);
    if (!target) issues.push({ path: ['sources', i, 'mirrorOf'], message: `unknown source "${mirror}" (configured: ${known.join(', ')})` });
    else if (!target.kind || !mirrorable.includes(target.kind)) {
      const names = mirrorable.map((k) => kindName(k).replace(/^an? /, ''));
      issues.push({
        path: ['sources', i, 'mirrorOf'],
        message: `must name ${kindName(mirrorable[0]).split(' ')[0]} ${names.join(' or ')} source, but "${mirror}" is ${kindName(target.kind)} source`,
      });
    }
  });
  const unknownSource = (name: string) => `unknown source "${name}" (${known.length ? `configured: ${known.join(', ')}` : 'no sources are configured'})`;

  const firstRule = new Map<string, number>();
  arr(raw.rules).forEach((r, i) => {
    if (!isObj(r)) return;
    const name = str(r.name);
    if (name !== undefined) {
      const seen = firstRule.get(name);
      if (seen !== undefined) issues.push({ path: ['rules', i, 'name'], message: `duplicate rule name "${name}" (also rules[${seen}])` });
      else firstRule.set(name, i);
    }

    const pattern = str(r.source);
    if (pattern === undefined || pattern === '') return;
    let matched: SourceInfo[];
    try {
      const re = compileGlob(pattern);
      matched = sources.filter((s) => re.test(s.name));
    } catch {
      return; // the field check reports the bad glob
    }
    if (!matched.length) {
      issues.push({
        path: ['rules', i, 'source'],
        message: hasWildcard(pattern) ? `"${pattern}" matches no configured source` : unknownSource(pattern),
      });
      return;
    }

    arr(r.targets).forEach((t, j) => {
      if (!isObj(t)) return;
      const provider = providerNamed(str(t.provider) ?? '');
      if (!provider) return;
      const feeding = matched.filter((s) => s.kind !== undefined && provider.sourceKinds.includes(s.kind));
      if (!feeding.length) {
        const needs = provider.sourceKinds.map((k) => kindName(k).replace(/^an? /, '')).join(' or ');
        const what = matched.length === 1 ? `"${matched[0]!.name}" is ${kindName(matched[0]!.kind)} source` : `"${pattern}" matches no ${needs} source`;
        issues.push({
          path: ['rules', i, 'targets', j, 'provider'],
          message: `${kindName(provider.name)} target copies from ${kindName(provider.sourceKinds[0])} source, but ${what}${copyHint(provider.name, matched, sources)}`,
        });
        return;
      }
      for (const s of feeding) {
        const bad = provider.checkTarget?.(t, [s], { sources: rawSources, clouds });
        if (bad) issues.push({ path: ['rules', i, 'targets', j, ...(bad.field ? [bad.field] : [])], message: bad.message });
      }
    });
  });

  const auth = isObj(raw.auth) ? raw.auth : {};
  arr(auth.webhookTokens).forEach((t, i) => {
    if (!isObj(t)) return;
    arr(t.sources).forEach((s, j) => {
      if (typeof s === 'string' && !firstSource.has(s)) issues.push({ path: ['auth', 'webhookTokens', i, 'sources', j], message: unknownSource(s) });
    });
  });

  issues.push(...huaweiProjectIssues(raw, sources));
  return issues;
}

/**
 * Where a cloud cannot copy natively (an SWR target for an ACR source), Ferry can copy itself: the
 * hint names the configured source of the target's kind to give as the copy's registry.
 */
function copyHint(targetKind: string, matched: readonly SourceInfo[], sources: readonly SourceInfo[]): string {
  const copy = providerNamed('copy');
  if (!copy || !matched.every((s) => s.kind !== undefined && copy.sourceKinds.includes(s.kind))) return '';
  const what = kindName(targetKind).replace(/^an? /, '');
  const same = sources.filter((s) => s.kind === targetKind).map((s) => s.name);
  return `; Ferry can copy it itself: provider: copy, registry: <the ${what} source to copy to> (${same.length ? `configured: ${same.join(', ')}` : `no ${what} source is configured`})`;
}

/** An IAM project belongs to one region: SWR sources in several regions need one project id each. */
function huaweiProjectIssues(raw: Obj, sources: readonly SourceInfo[]): RawIssue[] {
  const clouds = isObj(raw.clouds) ? raw.clouds : {};
  const projectId = isObj(clouds.huawei) ? clouds.huawei.projectId : undefined;
  const swr = sources.filter((s): s is SourceInfo & { region: string } => s.kind === 'swr' && s.region !== undefined);
  const regions = [...new Set(swr.map((s) => s.region))];
  const path = ['clouds', 'huawei', 'projectId'];
  if (typeof projectId === 'string' && regions.length > 1) {
    return [{ path, message: `names one project, but SWR sources are in ${regions.join(' and ')}: give one per region ({<region>: <project id>})` }];
  }
  if (!isObj(projectId)) return [];
  return regions.filter((r) => !(r in projectId)).map((r) => ({ path, message: `has no project for ${r} (SWR source "${swr.find((s) => s.region === r)!.name}")` }));
}
