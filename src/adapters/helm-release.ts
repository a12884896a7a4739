import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { abortError } from '../errors.ts';
import type { Logger } from '../stages/types.ts';

/**
 * A kubeconfig file for helm, which cannot use the action's in-process EKS token authenticator: the
 * current context's server, CA and credentials, with the bearer token resolved into the file.
 */
export interface TempKubeconfig extends AsyncDisposable {
  readonly path: string;
  /** The private (0700) directory holding the file; values files go here too. */
  readonly dir: string;
  /** Rewrites the file when the KubeConfig now yields other credentials (EKS tokens are re-signed before they expire). */
  readonly refresh: () => Promise<void>;
  /** Replaces every credential this file ever held, and the file's content, with `***`. */
  readonly scrub: (text: string) => string;
  /** Removes the directory; safe to call twice. */
  readonly dispose: () => Promise<void>;
}

interface KubeconfigContent {
  content: string;
  secrets: string[];
}

/**
 * Writes the KubeConfig's current context to a 0600 file in a fresh temp directory so helm reaches the
 * cluster with the same credentials as the action; `mask` (core.setSecret on a runner) sees each secret.
 */
export async function writeKubeconfig(
  kc: KubeConfig,
  opts: { mask?: (secret: string) => void } = {},
): Promise<TempKubeconfig> {
  const dir = await mkdtemp(join(tmpdir(), 'karpenter-action-helm-'));
  const path = join(dir, 'kubeconfig');
  const secrets = new Set<string>();
  let written = '';
  let disposed = false;

  const scrub = (text: string): string => {
    let out = text;
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
    return out;
  };
  const refresh = async (): Promise<void> => {
    if (disposed) throw new Error('the helm kubeconfig was already disposed');
    const next = await buildKubeconfigContent(kc);
    for (const s of [...next.secrets, next.content]) {
      if (s && !secrets.has(s)) {
        secrets.add(s);
        if (s !== next.content) opts.mask?.(s);
      }
    }
    if (next.content === written) return;
    await writeFile(path, next.content, { mode: 0o600 });
    written = next.content;
  };
  const dispose = async (): Promise<void> => {
    disposed = true;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await refresh();
  } catch (e) {
    await dispose();
    throw new Error(`writing a kubeconfig for helm failed: ${scrub((e as Error).message)}`, { cause: e });
  }
  return { path, dir, refresh, scrub, dispose, [Symbol.asyncDispose]: dispose };
}

async function buildKubeconfigContent(kc: KubeConfig): Promise<KubeconfigContent> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the KubeConfig has no current cluster');
  const req: RequestOptions = {};
  await kc.applyToHTTPSOptions(req);
  const headers = (req.headers ?? {}) as Record<string, unknown>;
  const secrets: string[] = [];

  const clusterEntry: Record<string, unknown> = { server: cluster.server };
  if (Buffer.isBuffer(req.ca)) clusterEntry['certificate-authority-data'] = req.ca.toString('base64');
  if (cluster.skipTLSVerify) clusterEntry['insecure-skip-tls-verify'] = true;
  if (cluster.tlsServerName) clusterEntry['tls-server-name'] = cluster.tlsServerName;
  if (cluster.proxyUrl) clusterEntry['proxy-url'] = cluster.proxyUrl;

  const user: Record<string, unknown> = {};
  const auth = headers.Authorization ?? headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (bearer) {
    user.token = bearer;
    secrets.push(bearer);
  }
  if (Buffer.isBuffer(req.cert)) user['client-certificate-data'] = req.cert.toString('base64');
  if (Buffer.isBuffer(req.key)) {
    const keyData = req.key.toString('base64');
    user['client-key-data'] = keyData;
    secrets.push(keyData, ...pemBodyLines(req.key.toString('utf8')));
  }
  const current = kc.getCurrentUser();
  if (current?.username) {
    user.username = current.username;
    user.password = current.password ?? '';
    if (current.password) secrets.push(current.password);
  }
  const impersonate = headers['Impersonate-User'];
  if (typeof impersonate === 'string') user.as = impersonate;

  const content = JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'target', cluster: clusterEntry }],
      users: [{ name: 'karpenter-action', user }],
      contexts: [{ name: 'target', context: { cluster: 'target', user: 'karpenter-action' } }],
      'current-context': 'target',
      preferences: {},
    },
    null,
    2,
  );
  return { content, secrets };
}

function pemBodyLines(pem: string): string[] {
  return pem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

/** A failed helm command: the command line (which never carries credentials or values) and helm's scrubbed stderr. */
export class HelmCommandError extends Error {
  override readonly name = 'HelmCommandError';
  readonly command: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;
  /** `detail` says why helm stopped when that is not an exit code: a timeout, a signal, a helm that does not run. */
  constructor(command: string, stderr: string, exitCode: number | undefined, detail = '') {
    const why = [detail, stderr].filter(Boolean).join(': ') || 'no output on stderr';
    super(`${command} failed${exitCode !== undefined ? ` (exit ${exitCode})` : ''}: ${why}`);
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** One row of `helm list`. */
export interface HelmListEntry {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  /** `<name>-<version>`, as helm prints it. */
  chart: string;
  appVersion: string;
  updated: string;
}

/** One row of `helm history`. */
export interface HelmRevision {
  revision: number;
  status: string;
  chart: string;
  appVersion: string;
  updated: string;
  description: string;
}

/** A release as `helm status` and `helm upgrade` report it, without its values and manifest. */
export interface HelmReleaseInfo {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chart: string;
  chartName: string;
  chartVersion: string;
  appVersion: string;
  description: string;
  lastDeployed: string;
}

export interface UpgradeInstallOptions {
  release: string;
  /** A local chart directory or archive, or an `oci://` reference. */
  chart: string;
  version?: string;
  namespace: string;
  createNamespace: boolean;
  /** Written to a private values file, never put on the command line. */
  values: Record<string, unknown>;
  skipCrds: boolean;
  /** Helm's `--wait`: needs the workloads to become ready, so a cluster without controllers never finishes. */
  wait: boolean;
  timeoutSeconds: number;
  /** Roll back on failure; helm then waits as with `wait`. */
  atomic?: boolean;
}

export interface WaitOptions {
  wait?: boolean;
  timeoutSeconds?: number;
}

const DEFAULT_TIMEOUT_SECONDS = 300;
const MAX_BUFFER = 64 * 1024 * 1024;

/**
 * Helm release operations against one cluster, each one helm CLI call that reads the private kubeconfig:
 * the install stage installs, inspects and rolls back Karpenter's charts the way a person would with helm,
 * so `helm history` on the cluster tells the same story afterwards.
 */
export class HelmReleases implements AsyncDisposable {
  readonly helmPath: string;
  readonly kubeconfig: TempKubeconfig;
  private readonly log: Logger | undefined;
  /** Once aborted, no helm command starts and a running one is killed: an apply that lost its lock stops. */
  readonly signal: AbortSignal | undefined;

  constructor(helmPath: string, kubeconfig: TempKubeconfig, log?: Logger, signal?: AbortSignal) {
    this.helmPath = helmPath;
    this.kubeconfig = kubeconfig;
    this.log = log;
    this.signal = signal;
  }

  /** Writes the kubeconfig for `kc`; dispose the result to remove it. */
  static async open(
    helmPath: string,
    kc: KubeConfig,
    opts: { log?: Logger; mask?: (secret: string) => void; signal?: AbortSignal } = {},
  ): Promise<HelmReleases> {
    const file = await writeKubeconfig(kc, opts.mask ? { mask: opts.mask } : {});
    return new HelmReleases(helmPath, file, opts.log, opts.signal);
  }

  /** `helm upgrade --install`: installs the release or upgrades it to this chart and these values. */
  async upgradeInstall(o: UpgradeInstallOptions): Promise<HelmReleaseInfo> {
    const valuesFile = join(this.kubeconfig.dir, `values-${randomUUID()}.json`);
    await writeFile(valuesFile, JSON.stringify(o.values), { mode: 0o600 });
    const args = ['upgrade', o.release, o.chart, '--install', '--namespace', o.namespace];
    if (o.version) args.push('--version', o.version);
    if (o.createNamespace) args.push('--create-namespace');
    if (o.skipCrds) args.push('--skip-crds');
    if (o.wait) args.push('--wait');
    if (o.atomic) args.push('--atomic');
    args.push('--timeout', `${o.timeoutSeconds}s`, '--values', valuesFile, '--output', 'json');
    try {
      const out = await this.run(args, o.timeoutSeconds);
      return toReleaseInfo(parseJson(out, args, this.kubeconfig.scrub));
    } finally {
      await rm(valuesFile, { force: true });
    }
  }

  /** `helm list --all`, every status included (a pending or failed release matters to the install stage); all namespaces when `namespace` is omitted. */
  async list(namespace?: string): Promise<HelmListEntry[]> {
    const args = ['list', '--all', '--output', 'json'];
    args.push(...(namespace === undefined ? ['--all-namespaces'] : ['--namespace', namespace]));
    const rows = parseJson(await this.run(args), args, this.kubeconfig.scrub) as
      Record<string, unknown>[] | null;
    return (rows ?? []).map((r) => ({
      name: str(r.name),
      namespace: str(r.namespace),
      revision: Number(r.revision),
      status: str(r.status),
      chart: str(r.chart),
      appVersion: str(r.app_version),
      updated: str(r.updated),
    }));
  }

  /** `helm history`, oldest first, the latest `max` revisions when given; empty when the release does not exist. */
  async history(release: string, namespace: string, max?: number): Promise<HelmRevision[]> {
    const args = ['history', release, '--namespace', namespace, '--output', 'json'];
    if (max !== undefined) args.push('--max', String(max));
    let out: string;
    try {
      out = await this.run(args);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const rows = parseJson(out, args, this.kubeconfig.scrub) as Record<string, unknown>[] | null;
    return (rows ?? []).map((r) => ({
      revision: Number(r.revision),
      status: str(r.status),
      chart: str(r.chart),
      appVersion: str(r.app_version),
      updated: str(r.updated),
      description: str(r.description),
    }));
  }

  /** `helm status`, with the chart taken from the latest history entry (status omits it); undefined when the release does not exist. */
  async status(release: string, namespace: string): Promise<HelmReleaseInfo | undefined> {
    const args = ['status', release, '--namespace', namespace, '--output', 'json'];
    let info: HelmReleaseInfo;
    try {
      info = toReleaseInfo(parseJson(await this.run(args), args, this.kubeconfig.scrub));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (info.chartName) return info;
    const latest = (await this.history(release, namespace, 1)).find((r) => r.revision === info.revision);
    if (!latest) return info;
    const m = /^(.+)-(v?\d+\.\d+\.\d+\S*)$/.exec(latest.chart);
    return {
      ...info,
      chart: latest.chart,
      chartName: m?.[1] ?? latest.chart,
      chartVersion: m?.[2] ?? '',
      appVersion: latest.appVersion,
    };
  }

  /** `helm rollback` to an earlier revision, which helm records as a new revision. */
  async rollback(release: string, revision: number, namespace: string, o: WaitOptions = {}): Promise<void> {
    const timeout = o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const args = [
      'rollback',
      release,
      String(revision),
      '--namespace',
      namespace,
      '--timeout',
      `${timeout}s`,
    ];
    if (o.wait) args.push('--wait');
    await this.run(args, timeout);
  }

  /** `helm uninstall`; with `keepHistory` the release stays listed as uninstalled and can be rolled back. */
  async uninstall(
    release: string,
    namespace: string,
    o: WaitOptions & { keepHistory?: boolean } = {},
  ): Promise<void> {
    const timeout = o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const args = ['uninstall', release, '--namespace', namespace, '--timeout', `${timeout}s`];
    if (o.keepHistory) args.push('--keep-history');
    if (o.wait) args.push('--wait');
    await this.run(args, timeout);
  }

  /** Removes the kubeconfig and any values files. */
  async dispose(): Promise<void> {
    await this.kubeconfig.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private async run(args: string[], helmTimeoutSeconds = DEFAULT_TIMEOUT_SECONDS): Promise<string> {
    const stopped = () => abortError(this.signal, 'helm was stopped');
    if (this.signal?.aborted) throw stopped();
    const command = this.kubeconfig.scrub(`helm ${args.join(' ')}`);
    await this.kubeconfig.refresh();
    this.log?.debug(command);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^HELM_KUBE|^HELM_NAMESPACE$/.test(k)) env[k] = v;
    }
    env.KUBECONFIG = this.kubeconfig.path;
    return new Promise((resolve, reject) => {
      execFile(
        this.helmPath,
        [...args, '--kubeconfig', this.kubeconfig.path],
        {
          env,
          maxBuffer: MAX_BUFFER,
          timeout: (helmTimeoutSeconds + 60) * 1000,
          ...(this.signal ? { signal: this.signal } : {}),
        },
        (err, stdout, stderr) => {
          if (!err) {
            resolve(stdout);
            return;
          }
          if (this.signal?.aborted) {
            reject(
              new HelmCommandError(
                command,
                this.kubeconfig.scrub(stderr.trim()),
                undefined,
                `killed: ${this.kubeconfig.scrub(stopped().message)}`,
              ),
            );
            return;
          }
          const e = err as Error & { code?: unknown; killed?: boolean; signal?: string | null };
          const exitCode = typeof e.code === 'number' ? e.code : undefined;
          const detail = e.killed
            ? `killed after ${helmTimeoutSeconds + 60}s`
            : typeof e.code === 'string'
              ? `${e.code} (cannot run ${this.helmPath})`
              : e.signal
                ? `killed by ${e.signal}`
                : '';
          reject(
            new HelmCommandError(
              command,
              this.kubeconfig.scrub(stderr.trim()),
              exitCode,
              this.kubeconfig.scrub(detail),
            ),
          );
        },
      );
    });
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof HelmCommandError && /release: not found/.test(e.stderr);
}

function parseJson(out: string, args: string[], scrub: (text: string) => string): unknown {
  try {
    return JSON.parse(out) as unknown;
  } catch {
    throw new Error(`helm ${args[0]} did not print JSON: ${scrub(out.slice(0, 200))}`);
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

function toReleaseInfo(raw: unknown): HelmReleaseInfo {
  const r = (raw ?? {}) as {
    name?: string;
    namespace?: string;
    version?: number;
    info?: { status?: string; description?: string; last_deployed?: string };
    chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  };
  const meta = r.chart?.metadata ?? {};
  return {
    name: str(r.name),
    namespace: str(r.namespace),
    revision: Number(r.version ?? 0),
    status: str(r.info?.status),
    chart: meta.name ? `${meta.name}-${str(meta.version)}` : '',
    chartName: str(meta.name),
    chartVersion: str(meta.version),
    appVersion: str(meta.appVersion),
    description: str(r.info?.description),
    lastDeployed: str(r.info?.last_deployed),
  };
}
