import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { abortError } from '../errors.ts';

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
  /** Further headers, e.g. impersonation (`Impersonate-User`, `Impersonate-Group`). */
  headers?: Record<string, string | string[]>;
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
  readonly calls: Record<string, number>;
  /**
   * Once aborted, no request is sent and those in flight are cut off, rejecting with the signal's
   * reason: an apply that lost its lock must not write another object.
   */
  readonly signal: AbortSignal | undefined;
  private readonly kc: KubeConfig;
  /** The KubeConfig this client authenticates with; helm is given the same credentials. */
  get kubeConfig(): KubeConfig {
    return this.kc;
  }
  constructor(kc: KubeConfig, opts: { signal?: AbortSignal; calls?: Record<string, number> } = {}) {
    this.kc = kc;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
    this.signal = opts.signal;
    this.calls = opts.calls ?? {};
  }

  /**
   * The same credentials and call counts under another abort signal (none: never fenced). The apply
   * lock renews and releases through a client the lock's own loss does not stop.
   */
  withSignal(signal: AbortSignal | undefined): KubeHttp {
    return new KubeHttp(this.kc, { calls: this.calls, ...(signal ? { signal } : {}) });
  }

  /** The caller's signal joined with this client's; throws the fence's reason when it has already fired. */
  private signalFor(req: KubeRequest): AbortSignal | undefined {
    if (this.signal?.aborted) throw this.fenceReason();
    const all = [req.signal, this.signal].filter((s): s is AbortSignal => s !== undefined);
    return all.length > 1 ? AbortSignal.any(all) : all[0];
  }

  private fenceReason(): Error {
    return abortError(this.signal, `requests to ${this.server} were stopped`);
  }

  private async options(method: string, url: URL, req: KubeRequest, accept: string): Promise<RequestOptions> {
    const opts: RequestOptions = { method, headers: { Accept: accept } };
    await this.kc.applyToHTTPSOptions(opts);
    opts.headers = { ...opts.headers, ...req.headers, Accept: accept };
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
    const signal = this.signalFor(req);
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const url = this.url(path, req.query);
    const opts = await this.options(method, url, req, 'application/json');
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<T>((resolve, reject) => {
      const fail = (e: Error) => reject(this.signal?.aborted ? this.fenceReason() : e);
      const r = send({ ...opts, signal, timeout: req.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
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
      r.on('error', fail);
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  }

  /**
   * A streaming GET (watch): calls onEvent for each JSON line until the server closes the stream or the
   * signal aborts. Resolves when the stream ends; the caller resumes from the last resourceVersion. A
   * line that is not JSON (a proxy's error page in the middle of the stream) ends it with a
   * KubeWatchLineError carrying the line's first bytes, as does an onEvent that throws.
   */
  async stream(path: string, req: KubeRequest, onEvent: (event: unknown) => void): Promise<void> {
    const signal = this.signalFor(req);
    this.calls.WATCH = (this.calls.WATCH ?? 0) + 1;
    const url = this.url(path, req.query);
    const opts = await this.options('GET', url, req, 'application/json');
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (e?: unknown) => {
        if (settled) return;
        settled = true;
        if (this.signal?.aborted) reject(this.fenceReason());
        else if (e === undefined || req.signal?.aborted) resolve();
        else reject(e instanceof Error ? e : new Error(`${path}: ${JSON.stringify(e)}`));
      };
      const r = send({ ...opts, signal }, (res) => {
        const code = res.statusCode ?? 0;
        if (code < 200 || code >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', settle);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let status: KubeStatus | undefined;
            try {
              status = JSON.parse(text) as KubeStatus;
            } catch {
              status = undefined;
            }
            settle(new KubeApiError(code, 'GET', path, status, text));
          });
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let event: unknown;
            try {
              event = JSON.parse(line);
            } catch {
              settle(new KubeWatchLineError(path, line));
              r.destroy();
              return;
            }
            try {
              onEvent(event);
            } catch (e) {
              settle(e);
              r.destroy();
              return;
            }
          }
        });
        res.on('end', () => {
          const rest = buf.trim();
          settle(rest && !settled ? new KubeWatchLineError(path, rest) : undefined);
        });
        res.on('error', settle);
        res.on('close', () => settle());
      });
      r.on('error', settle);
      r.end();
    });
  }
}

/** A watch stream sent a line that is not a JSON event; the message quotes its first bytes. */
export class KubeWatchLineError extends Error {
  override readonly name = 'KubeWatchLineError';
  /** The line's first 80 characters, control characters replaced. */
  readonly head: string;
  constructor(path: string, line: string) {
    const head = line.slice(0, 80).replace(/\p{Cc}/gu, ' ');
    super(
      `the watch of ${path} sent a line that is not a JSON event: "${head}${line.length > 80 ? '…' : ''}"`,
    );
    this.head = head;
  }
}
