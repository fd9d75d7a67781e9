/**
 * A Docker token server (the `auth.token` realm distribution delegates to): answers
 * `GET /token?service=&scope=…` with a JWT signed by an RSA key whose self-signed certificate (made
 * with `openssl req -x509`) is both the registry's `rootcertbundle` and the token's `x5c` header.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TokenServerOptions {
  /** Accepted Basic credentials; without any, every request is anonymous and served. */
  users?: Record<string, string>;
  /** Also serve requests without credentials (anonymous pulls) when users are set. */
  anonymous?: boolean;
  /** Actions granted for one scope (default: all requested, `pull` only for anonymous). */
  grant?: (user: string | null, repository: string, requested: string[]) => string[];
  /** Lifetime in seconds (`expires_in`, default 300). */
  expiresIn?: number;
  /** Answer with `access_token` instead of `token`. */
  accessTokenField?: boolean;
}

export interface TokenRequestLog {
  user: string | null;
  scopes: string[];
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM path for the registry's `rootcertbundle`. */
  certFile: string;
  requests: TokenRequestLog[];
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function basicUser(req: IncomingMessage, users: Record<string, string>): string | null | false {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = decoded.slice(0, i);
  return i > 0 && users[user] !== undefined && users[user] === decoded.slice(i + 1) ? user : false;
}

export async function startTokenServer(dir: string, opts: TokenServerOptions = {}): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=ferry-test-token-issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const service = 'ferry-test-registry';
  const issuer = 'ferry-test-token-issuer';
  const users = opts.users ?? {};
  const requests: TokenRequestLog[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const user = Object.keys(users).length ? basicUser(req, users) : null;
    const refuse = user === false || (user === null && Object.keys(users).length > 0 && !opts.anonymous);
    requests.push({ user: user || null, scopes, status: refuse ? 401 : 200 });
    if (refuse) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = (rest.pop() ?? '').split(',').filter(Boolean);
      const name = rest.join(':');
      if (type !== 'repository') return [];
      const granted = opts.grant ? opts.grant(user || null, name, actions) : user ? actions : actions.filter((a) => a === 'pull');
      return [{ type, name, actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user || '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    const token = `${header}.${claims}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ [opts.accessTokenField ? 'access_token' : 'token']: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
