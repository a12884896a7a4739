/**
 * A stand-in for the GitHub Actions OIDC token endpoint, so the action's `role-to-assume` path runs in
 * tests the way it does on a runner: `core.getIDToken` reads ACTIONS_ID_TOKEN_REQUEST_URL and
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN, appends `&audience=…`, sends the request token as a bearer token and
 * reads `{ "value": "<JWT>" }`. The JWT's signature is random bytes: nothing in the sandbox verifies it
 * (moto's AssumeRoleWithWebIdentity does not), and it must not be mistaken for a real token.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';

export interface OidcStandInOptions {
  /** The `sub` claim; default `repo:acme/infra:pull_request` (a same-repository pull request). */
  sub?: string;
  /** Further claims, such as `repository`, `ref` or `environment`; they override the defaults. */
  claims?: Record<string, unknown>;
  /** Seconds from `iat` to `exp`; default 300, about what GitHub issues. */
  lifetimeSeconds?: number;
}

/** One request the endpoint answered, in order. */
export interface OidcStandInCall {
  /** The `audience` query parameter, undefined when the caller asked for none. */
  audience: string | undefined;
  /** Whether the request carried `Authorization: Bearer <requestToken>`. */
  authorized: boolean;
  /** The JWT handed out, when the call was authorized: tests check that no message repeats it. */
  token: string | undefined;
}

export interface OidcStandIn {
  /** Goes into ACTIONS_ID_TOKEN_REQUEST_URL; it carries a query already, as the runner's URL does. */
  url: string;
  /** Goes into ACTIONS_ID_TOKEN_REQUEST_TOKEN; requests without it as a bearer token get a 401. */
  requestToken: string;
  calls: OidcStandInCall[];
  close(): Promise<void>;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Starts the endpoint on 127.0.0.1 at a free port. Close it in afterAll. */
export async function startOidcStandIn(opts: OidcStandInOptions = {}): Promise<OidcStandIn> {
  const requestToken = randomBytes(24).toString('hex');
  const calls: OidcStandInCall[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/idtoken') return send(res, 404, { message: 'Not Found' });
    const audience = url.searchParams.get('audience') ?? undefined;
    const authorized = req.headers.authorization === `Bearer ${requestToken}`;
    if (!authorized) {
      calls.push({ audience, authorized, token: undefined });
      return send(res, 401, { message: 'Bad credentials' });
    }
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: GITHUB_OIDC_ISSUER,
      aud: audience ?? 'https://github.com/acme',
      sub: opts.sub ?? 'repo:acme/infra:pull_request',
      repository: 'acme/infra',
      repository_owner: 'acme',
      event_name: 'pull_request',
      jti: randomBytes(8).toString('hex'),
      nbf: iat - 5,
      iat,
      exp: iat + (opts.lifetimeSeconds ?? 300),
      ...opts.claims,
    };
    const token = `${b64url({ alg: 'RS256', typ: 'JWT', kid: 'standin' })}.${b64url(claims)}.${randomBytes(64).toString('base64url')}`;
    calls.push({ audience, authorized, token });
    send(res, 200, { count: 1, value: token });
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/idtoken?api-version=2.0`,
    requestToken,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The two variables a job with `permissions: id-token: write` gets, pointing at the stand-in. */
export function oidcEnv(server: Pick<OidcStandIn, 'url' | 'requestToken'>): {
  ACTIONS_ID_TOKEN_REQUEST_URL: string;
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: string;
} {
  return { ACTIONS_ID_TOKEN_REQUEST_URL: server.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: server.requestToken };
}
