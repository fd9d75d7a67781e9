import type { CloudRequest, CloudResponse, EmulatedService } from './types.ts';

/**
 * Optional extras a service may offer the server, on top of the EmulatedService contract.
 * - `caller`: who is calling (account id / user), so fault rules can match `account`.
 * - `errorResponse`: any error in the service's own error shape (fault rules with `error`).
 * - `admin`: answer a `/_local/...` admin request it owns, or null to pass.
 */
export interface LocalService extends EmulatedService {
  caller?(req: CloudRequest): string | undefined;
  errorResponse?(req: CloudRequest, status: number, code: string, message?: string): CloudResponse;
  admin?(req: CloudRequest): Promise<CloudResponse | null> | CloudResponse | null;
}
