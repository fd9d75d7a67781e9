import type { Realism } from './realism.ts';
import type { CloudResponse } from './types.ts';

/**
 * SWR's error answers. The documented body is an array `[{errorCode, errorMessage, detail}]`; SWR
 * also answers `{"errors":[…]}` (the shape Huawei's Terraform provider reads SVCSTG.SWR.4001158 in)
 * and the gateway's `{error_code, error_msg, request_id}`. Realism `swr.error-bodies` alternates
 * the three, one answer after the other.
 */
export type SwrErrorShape = 'array' | 'errors' | 'gateway';
const SHAPES: readonly SwrErrorShape[] = ['array', 'errors', 'gateway'];

/** An SWR refusal thrown by a handler; `shape` where the real API is known to answer another body. */
export class SwrError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly shape?: SwrErrorShape,
  ) {}
}

function body(shape: SwrErrorShape, code: string, message: string, requestId: string): unknown {
  switch (shape) {
    case 'array':
      return [{ errorCode: code, errorMessage: message, detail: '' }];
    case 'errors':
      return { errors: [{ errorCode: code, errorMessage: message }] };
    case 'gateway':
      return { error_code: code, error_msg: message, request_id: requestId };
  }
}

function answer(status: number, shape: SwrErrorShape, code: string, message: string, requestId: string, headers: Record<string, string> = {}): CloudResponse {
  return { status, headers: { 'x-request-id': requestId, 'content-type': 'application/json', ...headers }, body: body(shape, code, message, requestId) };
}

/** API Gateway's own refusals (signature, unknown API): always its shape. */
export function gatewayError(status: number, code: string, message: string, requestId: string): CloudResponse {
  return answer(status, 'gateway', code, message, requestId);
}

/** SWR error answers, in the shape the realism modes ask for. */
export class SwrErrors {
  private answered = 0;

  constructor(private readonly realism: Realism) {}

  reset(): void {
    this.answered = 0;
  }

  response(status: number, code: string, message: string, requestId: string, opts: { shape?: SwrErrorShape | undefined; headers?: Record<string, string> } = {}): CloudResponse {
    const shape = this.realism.on('swr.error-bodies') ? SHAPES[this.answered++ % SHAPES.length]! : (opts.shape ?? 'array');
    return answer(status, shape, code, message, requestId, opts.headers);
  }
}
