import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/** A Kubernetes API error with the server's Status object kept, so callers can branch on reason and code. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code: number;
  readonly reason: string | undefined;
  readonly status: KubeStatus | undefined;
  constructor(code: number, method: string, path: string, status: KubeStatus | undefined, raw: string) {
    super(
      `${method} ${path}: ${code} ${status?.reason ?? ''} ${status?.message ?? raw.slice(0, 500)}`.trim(),
    );
    this.code = code;
    this.reason = status?.reason;
    this.status = status;
  }
}

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

export interface KubeRequest {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Resolve to the body as text (pod logs) instead of parsed JSON. */
  raw?: boolean;
}

/**
 * Raw JSON access to the Kubernetes API. The generated typed clients re-serialize objects through
 * their models, which drops fields they do not know (a CRD's `x-kubernetes-validations` and `default`
 * among them); the action must send and read manifests exactly as written, so it talks JSON itself and
 * takes only TLS and authentication from the KubeConfig.
 */
export class KubeHttp {
  readonly server: string;
  /** Requests sent, by method; the benchmark reports them. */
  readonly calls: Record<string, number> = {};
  private readonly kc: KubeConfig;
  /** The KubeConfig this client authenticates with; helm is given the same credentials. */
  get kubeConfig(): KubeConfig {
    return this.kc;
  }
  constructor(kc: KubeConfig) {
    this.kc = kc;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  private async options(method: string, url: URL, req: KubeRequest, accept: string): Promise<RequestOptions> {
    const opts: RequestOptions = { method, headers: { Accept: accept } };
    await this.kc.applyToHTTPSOptions(opts);
    opts.headers = { ...opts.headers, Accept: accept };
    if (req.body !== undefined) {
      (opts.headers as Record<string, string>)['Content-Type'] = req.contentType ?? 'application/json';
    }
    opts.hostname = url.hostname;
    opts.port = url.port;
    opts.path = `${url.pathname}${url.search}`;
    return opts;
  }

  private url(path: string, query: KubeRequest['query']): URL {
    const url = new URL(`${this.server}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  /** One request; resolves to the parsed JSON body, or rejects with KubeApiError for any non-2xx. */
  async request<T>(method: string, path: string, req: KubeRequest = {}): Promise<T> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const url = this.url(path, req.query);
    const opts = await this.options(method, url, req, 'application/json');
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<T>((resolve, reject) => {
      const r = send({ ...opts, signal: req.signal, timeout: req.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          if (code >= 200 && code < 300) resolve((req.raw ? text : parsed) as T);
          else reject(new KubeApiError(code, method, path, parsed as KubeStatus | undefined, text));
        });
      });
      r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timed out`)));
      r.on('error', reject);
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  }

  /**
   * A streaming GET (watch): calls onEvent for each JSON line until the server closes the stream or the
   * signal aborts. Resolves when the stream ends; the caller resumes from the last resourceVersion.
   */
  async stream(path: string, req: KubeRequest, onEvent: (event: unknown) => void): Promise<void> {
    this.calls.WATCH = (this.calls.WATCH ?? 0) + 1;
    const url = this.url(path, req.query);
    const opts = await this.options('GET', url, req, 'application/json');
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<void>((resolve, reject) => {
      const r = send({ ...opts, signal: req.signal }, (res) => {
        const code = res.statusCode ?? 0;
        if (code < 200 || code >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let status: KubeStatus | undefined;
            try {
              status = JSON.parse(text) as KubeStatus;
            } catch {
              status = undefined;
            }
            reject(new KubeApiError(code, 'GET', path, status, text));
          });
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) onEvent(JSON.parse(line));
          }
        });
        res.on('end', () => resolve());
        res.on('error', (e) => (req.signal?.aborted ? resolve() : reject(e)));
      });
      r.on('error', (e) => (req.signal?.aborted ? resolve() : reject(e)));
      r.end();
    });
  }
}
