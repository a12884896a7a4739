/**
 * A plain-HTTP proxy in front of a sandbox API server, for the failures between a client and the API
 * server that the API server itself never produces: a proxy's HTML error page in a watch stream, a
 * connection cut after the server acted but before its answer arrived, requests refused on the way.
 * Everything else is forwarded as is, with the admin credentials, to the real API server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  body: string;
}

/**
 * What to do with one request: forward it; answer it without forwarding (`status`, `body`); forward it
 * and cut the connection instead of answering (`dropResponse`); for watches, send `prefix` lines first.
 */
export type ProxyVerdict =
  | { kind: 'forward'; prefix?: string }
  | { kind: 'answer'; status: number; body: string; contentType?: string }
  | { kind: 'dropResponse' };

export interface KubeProxy {
  /** A KubeConfig that reaches the API server through the proxy (no credentials of its own). */
  kubeConfig: KubeConfig;
  /** Every request the proxy received, in order. */
  seen: ProxiedRequest[];
  close(): Promise<void>;
}

export async function startKubeProxy(
  upstream: KubeConfig,
  decide: (r: ProxiedRequest) => ProxyVerdict = () => ({ kind: 'forward' }),
): Promise<KubeProxy> {
  const target = new URL(upstream.getCurrentCluster()!.server);
  const seen: ProxiedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      body: Buffer.concat(chunks).toString('utf8'),
    };
    seen.push(r);
    const verdict = decide(r);
    if (verdict.kind === 'answer') {
      res.writeHead(verdict.status, { 'Content-Type': verdict.contentType ?? 'application/json' });
      res.end(verdict.body);
      return;
    }
    const opts: RequestOptions = { method: r.method, headers: {} };
    await upstream.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>) };
    for (const h of ['content-type', 'accept']) if (req.headers[h]) headers[h] = String(req.headers[h]);
    const up = httpsRequest(
      { ...opts, headers, hostname: target.hostname, port: target.port, path: r.url },
      (upRes) => {
        if (verdict.kind === 'dropResponse') {
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, {
          'Content-Type': upRes.headers['content-type'] ?? 'application/json',
        });
        if (verdict.prefix) res.write(verdict.prefix);
        upRes.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    res.on('close', () => up.destroy());
    up.end(r.body || undefined);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'proxy' }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy' }],
    currentContext: 'proxy',
  });
  return {
    kubeConfig: kc,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
