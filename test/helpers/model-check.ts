/**
 * The published models of the Alibaba APIs, as their generated SDKs declare them, and a checker of
 * answers against them: every declared field present with its declared type, nothing undeclared.
 *
 * Two sources, one shape (`Models`: model name → camelCase field → [wire name, type]):
 * - ACR (`cr` 2018-12-01): test/fixtures/acr-2018-12-01-models.json, extracted from
 *   @alicloud/cr20181201 (not installable here);
 * - ECS (2014-05-26): the model classes of the installed @alicloud/ecs20140526 (`names()`/`types()`).
 */
import { readFileSync } from 'node:fs';

export type FieldType = 'string' | 'number' | 'boolean' | { model: string } | { array: string };
export type Model = Record<string, [wire: string, type: FieldType]>;
export type Models = Record<string, Model>;

export interface AcrModels {
  source: string;
  ops: Record<string, { params: Record<string, string>; where: Record<string, string> }>;
  models: Models;
}

export function acrModels(): AcrModels {
  return JSON.parse(readFileSync(new URL('../fixtures/acr-2018-12-01-models.json', import.meta.url), 'utf8')) as AcrModels;
}

const PRIMITIVES = new Set(['string', 'number', 'boolean']);

type SdkModelClass = { name: string; names(): Record<string, string>; types(): Record<string, unknown> };

/** The models reachable from a generated SDK model class (its nested classes included). */
export function sdkModels(root: SdkModelClass, into: Models = {}): Models {
  if (into[root.name]) return into;
  const model: Model = {};
  into[root.name] = model;
  const names = root.names();
  const typeOf = (t: unknown): FieldType => {
    if (typeof t === 'string') {
      if (!PRIMITIVES.has(t)) throw new Error(`${root.name}: type ${t} is not handled`);
      return t as FieldType;
    }
    if (typeof t === 'function') {
      sdkModels(t as unknown as SdkModelClass, into);
      return { model: (t as unknown as SdkModelClass).name };
    }
    const a = t as { type?: string; itemType?: unknown };
    if (a.type === 'array') {
      const item = typeOf(a.itemType);
      return { array: typeof item === 'string' ? item : 'model' in item ? item.model : item.array };
    }
    throw new Error(`${root.name}: type ${JSON.stringify(t)} is not handled`);
  };
  for (const [field, t] of Object.entries(root.types())) model[field] = [names[field]!, typeOf(t)];
  return into;
}

export interface ModelProblems {
  /** Declared fields absent from the answer (paths like `SyncTasks[0].ImageTo.RegionId`). */
  missing: string[];
  /** Fields present with another type than declared. */
  wrongType: string[];
  /** Fields the model does not declare. */
  undeclared: string[];
}

function typeMatches(value: unknown, t: 'string' | 'number' | 'boolean'): boolean {
  return typeof value === t;
}

/** Walks `value` against `models[name]`. */
export function checkAnswer(value: unknown, name: string, models: Models, path = '', out: ModelProblems = { missing: [], wrongType: [], undeclared: [] }): ModelProblems {
  const model = models[name];
  if (!model) throw new Error(`no model ${name}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.wrongType.push(`${path || '(root)'}: expected ${name}, got ${JSON.stringify(value)}`);
    return out;
  }
  const obj = value as Record<string, unknown>;
  const declared = new Set<string>();
  for (const [wire, type] of Object.values(model)) {
    declared.add(wire);
    const at = path ? `${path}.${wire}` : wire;
    if (!(wire in obj) || obj[wire] === undefined) {
      out.missing.push(at);
      continue;
    }
    checkValue(obj[wire], type, models, at, out);
  }
  for (const key of Object.keys(obj)) if (!declared.has(key)) out.undeclared.push(path ? `${path}.${key}` : key);
  return out;
}

function checkValue(v: unknown, type: FieldType, models: Models, at: string, out: ModelProblems): void {
  if (typeof type === 'string') {
    if (!typeMatches(v, type)) out.wrongType.push(`${at}: expected ${type}, got ${JSON.stringify(v)}`);
  } else if ('model' in type) {
    checkAnswer(v, type.model, models, at, out);
  } else if (!Array.isArray(v)) {
    out.wrongType.push(`${at}: expected an array, got ${JSON.stringify(v)}`);
  } else {
    v.forEach((item, i) => {
      if (PRIMITIVES.has(type.array)) checkValue(item, type.array as 'string', models, `${at}[${i}]`, out);
      else checkAnswer(item, type.array, models, `${at}[${i}]`, out);
    });
  }
}

/**
 * A request of exactly the model's fields: camelCase input → wire names, each field declared by
 * `<op>Request` and of its declared type (a field the model lacks, like RegionId on
 * CreateRepoSyncTask, is a test bug, not a request).
 */
export function modelRequest(models: Models, op: string, input: Record<string, string | number | boolean>): Record<string, string> {
  const model = models[`${op}Request`];
  if (!model) throw new Error(`no model ${op}Request`);
  const query: Record<string, string> = {};
  for (const [field, value] of Object.entries(input)) {
    const declared = model[field];
    if (!declared) throw new Error(`${op}Request declares no field ${field}`);
    const [wire, type] = declared;
    if (typeof type !== 'string' || typeof value !== type) throw new Error(`${op}Request.${field}: expected ${JSON.stringify(type)}, got ${JSON.stringify(value)}`);
    query[wire] = String(value);
  }
  return query;
}
