import { randomUUID } from 'node:crypto';
import type { CloudResponse } from './types.ts';

/** An Alibaba API error: thrown by ACR/ECS operations, turned into the error envelope by alibaba.ts. */
export class AlibabaApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function missingParameter(name: string): AlibabaApiError {
  return new AlibabaApiError(400, 'MissingParameter', `An input parameter "${name}" that is mandatory for processing the request is not supplied.`);
}

export function invalidParameter(name: string, rule: string): AlibabaApiError {
  return new AlibabaApiError(400, 'InvalidParameter', `The specified parameter "${name}" is not valid: ${rule}`);
}

export function noPrivilege(): AlibabaApiError {
  return new AlibabaApiError(403, 'NoPrivilege', 'Access denied for this user.');
}

export type Params = Record<string, string>;

export function required(params: Params, name: string): string {
  const v = params[name];
  if (v === undefined || v === '') throw missingParameter(name);
  return v;
}

export function optionalInt(params: Params, name: string, def: number, min: number, max: number): number {
  const raw = params[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw invalidParameter(name, `must be an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw invalidParameter(name, `must be an integer from ${min} to ${max}`);
  return n;
}

export function optionalBool(params: Params, name: string, def: boolean): boolean {
  const raw = params[name];
  if (raw === undefined || raw === '') return def;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw invalidParameter(name, 'must be "true" or "false"');
}

export function requestId(): string {
  return randomUUID().toUpperCase();
}

export function recommendUrl(product: string, code: string): string {
  return `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=${product}`;
}

/**
 * How an error body is written: `json` as the seed pages show it; `lowercase` keys (`code`, `message`,
 * `requestId`…) and `xml` (`<Error>…</Error>`) as other gateways answer (realism `acr.error-bodies`).
 */
export type ErrorShape = 'json' | 'lowercase' | 'xml';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function alibabaErrorResponse(
  status: number,
  code: string,
  message: string,
  opts: { requestId?: string; hostId?: string; product?: string; headers?: Record<string, string>; shape?: ErrorShape } = {},
): CloudResponse {
  const rid = opts.requestId ?? requestId();
  const headers = { 'x-acs-request-id': rid, ...(opts.headers ?? {}) };
  const fields = { RequestId: rid, HostId: opts.hostId ?? 'localhost', Code: code, Message: message, Recommend: recommendUrl(opts.product ?? 'cr', code) };
  switch (opts.shape ?? 'json') {
    case 'json':
      return { status, headers, body: fields };
    case 'lowercase':
      return { status, headers, body: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v])) };
    case 'xml': {
      const elements = Object.entries(fields).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`);
      return { status, headers: { ...headers, 'content-type': 'text/xml;charset=utf-8' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${elements.join('')}</Error>` };
    }
  }
}

/** A lowercase alphanumeric id of `length` characters from the seedable random source. */
export function randomId(random: () => number, prefix: string, length = 16): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(random() * alphabet.length)]!;
  return prefix + s;
}

/** Pages a list: PageNo/PageNumber 1-based. */
export function page<T>(items: T[], pageNo: number, pageSize: number): T[] {
  return items.slice((pageNo - 1) * pageSize, pageNo * pageSize);
}
