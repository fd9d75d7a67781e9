import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RegistryAuthConfig, type RepoAction, RegistryTokens } from './auth.ts';
import { cancelUpload, getBlob, patchUpload, putUpload, startUpload, uploadStatus } from './blobs.ts';
import { OciError, ociErrorBody } from './errors.ts';
import { reply, type RegistryContext, type RegistryPolicy } from './http.ts';
import { deleteManifest, getManifest, listReferrers, listTags, putManifest } from './manifests.ts';
import { parseRoute, type RegistryRoute } from './routes.ts';
import type { RegistryStorage } from './storage.ts';

/** One registry endpoint: the OCI distribution API at `/v2/` and its token realm, on its own port. */
export interface RegistryServerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  storage: RegistryStorage;
  auth: RegistryAuthConfig;
  policy: RegistryPolicy;
  /** One line per request. */
  log?: ((line: string) => void) | undefined;
  /** For log lines, e.g. `acr cri-localsrc001`. */
  label: string;
}

export interface RegistryServer {
  url: string;
  port: number;
  storage: RegistryStorage;
  tokens: RegistryTokens;
  /** Forgets content, sessions and tokens. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function actionOf(method: string): RepoAction {
  if (method === 'GET' || method === 'HEAD') return 'pull';
  return method === 'DELETE' ? 'delete' : 'push';
}

function methodNotAllowed(method: string): never {
  throw new OciError(405, 'UNSUPPORTED', `method ${method} is not supported here`);
}

async function dispatch(ctx: RegistryContext, route: Exclude<RegistryRoute, { kind: 'base' }>, method: string): Promise<void> {
  const head = method === 'HEAD';
  switch (route.kind) {
    case 'manifest':
      if (method === 'GET' || head) return getManifest(ctx, route.reference, head);
      if (method === 'PUT') return putManifest(ctx, route.reference);
      if (method === 'DELETE') return deleteManifest(ctx, route.reference);
      return methodNotAllowed(method);
    case 'blob':
      if (method === 'GET' || head) return getBlob(ctx, route.digest, head);
      return methodNotAllowed(method);
    case 'uploads':
      if (method === 'POST') return startUpload(ctx);
      return methodNotAllowed(method);
    case 'upload':
      if (method === 'PATCH') return patchUpload(ctx, route.uuid);
      if (method === 'PUT') return putUpload(ctx, route.uuid);
      if (method === 'GET') return uploadStatus(ctx, route.uuid);
      if (method === 'DELETE') return cancelUpload(ctx, route.uuid);
      return methodNotAllowed(method);
    case 'tags':
      if (method === 'GET') return listTags(ctx);
      return methodNotAllowed(method);
    case 'referrers':
      if (method === 'GET') return listReferrers(ctx, route.digest);
      return methodNotAllowed(method);
  }
}

export async function startRegistryServer(opts: RegistryServerOptions): Promise<RegistryServer> {
  const tokens = new RegistryTokens(opts.auth);
  const realm = opts.auth.realmPath.replace(/\/+$/, '');

  function tokenEndpoint(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    req.resume();
    const issued = tokens.issue(req.headers.authorization, query.getAll('scope'));
    if (!issued) reply(res, 401, { ...JSON_TYPE, 'www-authenticate': `Basic realm="${opts.auth.service}"` }, ociErrorBody('UNAUTHORIZED', 'authentication required: valid Basic credentials'));
    else reply(res, 200, JSON_TYPE, JSON.stringify({ token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('docker-distribution-api-version', 'registry/2.0');
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const baseUrl = `http://${req.headers.host ?? `${opts.host}:${port}`}`;
    if (url.pathname.replace(/\/+$/, '') === realm) return tokenEndpoint(req, res, url.searchParams);
    const route = parseRoute(url.pathname);
    if (route === null) throw new OciError(404, 'UNSUPPORTED', `no registry API at ${method} ${url.pathname}`);
    if (route === 'invalid-name') throw new OciError(400, 'NAME_INVALID', 'invalid repository name');
    const name = route.kind === 'base' ? undefined : route.name;
    const check = tokens.check(req.headers.authorization, name, actionOf(method));
    if (!check.ok) {
      const scope = name === undefined ? undefined : { name, actions: actionOf(method) === 'pull' ? 'pull' : 'pull,push' };
      const error = check.error === 'missing' ? undefined : check.error;
      throw new OciError(401, 'UNAUTHORIZED', 'authentication required', name ? [{ Type: 'repository', Name: name, Action: actionOf(method) }] : null, {
        'www-authenticate': tokens.challenge(baseUrl, scope, error),
      });
    }
    if (route.kind === 'base') return reply(res, 200, JSON_TYPE, '{}');
    const ctx: RegistryContext = {
      req,
      res,
      query: url.searchParams,
      name: route.name,
      storage: opts.storage,
      policy: opts.policy,
      canPull: (other) => tokens.check(req.headers.authorization, other, 'pull').ok,
    };
    await dispatch(ctx, route, method);
  }

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((err: unknown) => {
        req.resume();
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof OciError) return reply(res, err.status, { ...JSON_TYPE, ...err.headers }, ociErrorBody(err.code, err.message, err.detail));
        opts.log?.(`[registry ${opts.label}] ${req.method} ${req.url} crashed: ${err instanceof Error ? err.stack : String(err)}`);
        reply(res, 500, JSON_TYPE, ociErrorBody('UNKNOWN', err instanceof Error ? err.message : String(err)));
      })
      .finally(() => opts.log?.(`[registry ${opts.label}] ${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${Date.now() - started}ms`));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    storage: opts.storage,
    tokens,
    reset() {
      tokens.clear();
      opts.storage.wipe();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
