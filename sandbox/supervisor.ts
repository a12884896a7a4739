/**
 * The sandbox supervisor: one long-running process that starts and owns every server of the sandbox
 * (etcd, the extended moto server with the EKS token webhook, one kube-apiserver per EKS cluster),
 * seeds clusters on request, and stops everything it started when told to or when it is signalled.
 *
 * Control API on loopback (its URL is in .sandbox/state.json):
 *   POST   /clusters        {name?, authenticationMode?, kubernetesVersion?, autoMode?, accountId?, region?}
 *   DELETE /clusters/:name
 *   GET    /status
 *   POST   /shutdown
 */
import { request as httpsRequest } from 'node:https';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BINARIES, controllerBuildFor, ensureSandboxBinaries } from './lib/build.ts';
import { ClusterRuntime, NODE_IP } from './lib/cluster-runtime.ts';
import { ensurePki, readPem, type Pki } from './lib/certs.ts';
import { ensureKarpenterRelease, KARPENTER_TARGET, KARPENTER_VERSIONS } from './lib/karpenter.ts';
import { ROOT, statePath } from './lib/paths.ts';
import { freePort, startProcess, stopProcess, waitFor, type Managed } from './lib/proc.ts';
import { seedCluster, type SeededCluster } from './lib/seed.ts';
import { DEFAULT_ACCOUNT, DEFAULT_REGION } from './lib/aws.ts';
import { writeEnvFiles, type SandboxState, type ClusterInfo, type NewClusterOptions } from './lib/state.ts';

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};

interface ApiServer {
  id: string;
  port: number;
  endpoint: string;
  proc: Managed;
}

const DEFAULT_CLUSTER = process.env.SANDBOX_CLUSTER ?? 'sandbox-eks';
const WARM_SPARES = Number(process.env.SANDBOX_WARM_APISERVERS ?? '2');

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(statePath('state.json'), { force: true });
  for (const d of ['logs', 'etcd', 'bin', 'webhook']) {
    if (d === 'etcd' || d === 'webhook') rmSync(statePath(d), { recursive: true, force: true });
    mkdirSync(statePath(d), { recursive: true });
  }
  const { kube, etcd: etcdBin, helm, kwok, kwokStages, controllers } = ensureSandboxBinaries(log);
  const releases = KARPENTER_VERSIONS.map((v) => ensureKarpenterRelease(v));
  const buildSeconds = Date.now() - started;
  for (const [name, target] of [
    ['kube-apiserver', join(kube.dir, 'kube-apiserver')],
    ['kubectl', join(kube.dir, 'kubectl')],
    ['etcd', etcdBin.path],
    ['helm', helm.path],
  ] as const) {
    rmSync(statePath('bin', name), { force: true });
    symlinkSync(target, statePath('bin', name));
  }
  const pki = ensurePki(statePath('pki'));

  const children: Managed[] = [];
  const runtimes = new Set<ClusterRuntime>();
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await Promise.all([...runtimes].map((r) => r.stop()));
    await Promise.all([...children].reverse().map((c) => stopProcess(c)));
    rmSync(statePath('state.json'), { force: true });
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stopAll());
  process.on('SIGINT', () => void stopAll());

  const etcdPort = await freePort();
  const etcdPeer = await freePort();
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = startProcess(
    'etcd',
    etcdBin.path,
    [
      `--data-dir=${statePath('etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    statePath('logs', 'etcd.log'),
  );
  children.push(etcd);

  const motoPort = await freePort();
  const adminPort = await freePort();
  const motoUrl = `http://127.0.0.1:${motoPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const moto = startProcess(
    'moto',
    process.env.SANDBOX_PYTHON ?? 'python3',
    [
      join(ROOT, 'sandbox', 'moto', 'launcher.py'),
      '--host=127.0.0.1',
      `--port=${motoPort}`,
      `--admin-port=${adminPort}`,
      `--parent-pid=${process.pid}`,
      `--kubernetes-version=${BINARIES.kube.version.replace(/^v(\d+\.\d+).*/, '$1')}`,
    ],
    statePath('logs', 'moto.log'),
    { ...process.env, PYTHONUNBUFFERED: '1' },
  );
  children.push(moto);

  await Promise.all([
    waitFor('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, { timeoutMs: 30000, proc: etcd }),
    waitFor('moto', async () => (await fetch(`${motoUrl}/moto-api/`)).ok, { timeoutMs: 60000, proc: moto }),
    waitFor('moto admin', async () => (await fetch(`${adminUrl}/healthz`)).ok, {
      timeoutMs: 60000,
      proc: moto,
    }),
  ]);
  log(`etcd ${etcdUrl}, moto ${motoUrl}, webhook ${adminUrl}`);

  let apiserverSeq = 0;
  // Warm spares: API servers already starting or started, each handed to the next cluster request, so a
  // test gets a fresh control plane without waiting the ~5 s an API server takes to become ready.
  const spares: Promise<ApiServer>[] = [];
  const startApiServer = async (): Promise<ApiServer> => {
    const id = `kube-${++apiserverSeq}`;
    const port = await freePort();
    const webhookCfg = statePath('webhook', `${id}.kubeconfig`);
    writeFileSync(
      webhookCfg,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: webhook, cluster: {server: "${adminUrl}/tokenreview/${id}"}}]`,
        'users: [{name: apiserver, user: {}}]',
        'contexts: [{name: webhook, context: {cluster: webhook, user: apiserver}}]',
        'current-context: webhook',
        '',
      ].join('\n'),
    );
    const proc = startProcess(
      id,
      join(kube.dir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--etcd-prefix=/${id}`,
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--service-cluster-ip-range=172.20.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--authorization-mode=RBAC',
        `--authentication-token-webhook-config-file=${webhookCfg}`,
        '--authentication-token-webhook-version=v1',
        '--authentication-token-webhook-cache-ttl=0s',
        '--disable-admission-plugins=ServiceAccount',
        // The simulated kubelets (kwok) all listen on loopback and advertise it as their InternalIP.
        '--kubelet-preferred-address-types=InternalIP',
        `--kubelet-client-certificate=${pki.adminCert}`,
        `--kubelet-client-key=${pki.adminKey}`,
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
      ],
      statePath('logs', `${id}.log`),
    );
    children.push(proc);
    const endpoint = `https://127.0.0.1:${port}`;
    await waitFor(id, () => probeReady(endpoint, pki), { timeoutMs: 120000, proc, intervalMs: 100 });
    return { id, port, endpoint, proc };
  };
  const refill = (): void => {
    while (!stopping && spares.length < WARM_SPARES) {
      const p = startApiServer();
      p.catch((e: unknown) => log(`warm API server failed: ${String(e)}`));
      spares.push(p);
    }
  };
  const takeApiServer = async (): Promise<ApiServer> => {
    const next = spares.shift();
    refill();
    return next ? next.catch(() => startApiServer()) : startApiServer();
  };

  const clusters = new Map<string, ClusterInfo & { apiserver: ApiServer; runtime?: ClusterRuntime }>();
  const createCluster = async (req: NewClusterOptions): Promise<ClusterInfo> => {
    const name = req.name ?? `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    if (clusters.has(name)) throw new HttpError(409, `cluster ${name} exists`);
    const t0 = Date.now();
    const apiserver = await takeApiServer();
    const region = req.region ?? DEFAULT_REGION;
    const accountId = req.accountId ?? DEFAULT_ACCOUNT;
    const kubeEndpoint = {
      endpoint: apiserver.endpoint,
      caPem: readPem(pki.caCert),
      clientCertPem: readPem(pki.adminCert),
      clientKeyPem: readPem(pki.adminKey),
    };
    const runtime = req.controllers
      ? await ClusterRuntime.start({
          cluster: name,
          endpoint: apiserver.endpoint,
          pki,
          kube: kubeEndpoint,
          aws: { endpoint: motoUrl, region, accountId },
          kubeDir: kube.dir,
          kwokBin: kwok.path,
          kwokStages,
          dir: statePath('clusters', name),
          controllerBinary: (v) => {
            const pick = controllerBuildFor(v, new Set(controllers.keys()));
            const path = pick && controllers.get(pick.build)?.path;
            return pick && path ? { ...pick, path } : undefined;
          },
          log,
        })
      : undefined;
    const seeded: SeededCluster = await seedCluster({
      name,
      aws: { endpoint: motoUrl, region, accountId },
      kube: kubeEndpoint,
      authenticationMode: req.authenticationMode,
      kubernetesVersion: req.kubernetesVersion,
      autoMode: req.autoMode,
      withClusterAutoscaler: req.withClusterAutoscaler,
      ...(runtime ? { kubelet: { ip: NODE_IP, port: runtime.kubeletPort } } : {}),
      register: async (clusterName) => {
        const res = await fetch(`${adminUrl}/clusters/${encodeURIComponent(clusterName)}/kube`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...kubeEndpoint, region, accountId, webhookId: apiserver.id }),
        });
        if (!res.ok)
          throw new Error(`registering ${clusterName} with moto: ${res.status} ${await res.text()}`);
      },
    });
    if (runtime) {
      runtimes.add(runtime);
      runtime.watchKarpenter();
    }
    const info: ClusterInfo = {
      ...seeded,
      endpoint: apiserver.endpoint,
      apiserverId: apiserver.id,
      controllers: runtime !== undefined,
      ...(runtime ? { runtimeDir: statePath('clusters', name) } : {}),
    };
    clusters.set(name, { ...info, apiserver, ...(runtime ? { runtime } : {}) });
    log(`cluster ${name} on ${apiserver.id} (${apiserver.endpoint}) ready in ${Date.now() - t0} ms`);
    return info;
  };

  const deleteCluster = async (name: string): Promise<void> => {
    const c = clusters.get(name);
    if (!c) throw new HttpError(404, `no cluster ${name}`);
    clusters.delete(name);
    await fetch(`${adminUrl}/clusters/${encodeURIComponent(name)}/kube`, { method: 'DELETE' });
    if (c.runtime) {
      runtimes.delete(c.runtime);
      await c.runtime.stop();
    }
    await stopProcess(c.apiserver.proc);
    children.splice(children.indexOf(c.apiserver.proc), 1);
  };

  refill();
  // The default cluster is the demo's: it runs the scheduler, controller manager, kwok and Karpenter.
  const def = await createCluster({
    name: DEFAULT_CLUSTER,
    controllers: process.env.SANDBOX_CONTROLLERS !== '0',
  });

  const control = createServer((req, res) => void handle(req, res));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      let out: unknown;
      if (req.method === 'POST' && url.pathname === '/clusters') {
        out = await createCluster(body ? (JSON.parse(body) as Parameters<typeof createCluster>[0]) : {});
      } else if (req.method === 'DELETE' && url.pathname.startsWith('/clusters/')) {
        await deleteCluster(decodeURIComponent(url.pathname.slice('/clusters/'.length)));
        out = { deleted: true };
      } else if (req.method === 'GET' && url.pathname === '/status') {
        out = {
          clusters: [...clusters.keys()],
          spares: spares.length,
          pid: process.pid,
          controllers: Object.fromEntries(
            [...clusters].map(([n, c]) => [
              n,
              c.runtime?.running().map((r) => ({
                namespace: r.namespace,
                deployment: r.deployment,
                version: r.version,
                pid: r.proc?.child.pid,
                startedAt: r.startedAt,
              })) ?? null,
            ]),
          ),
        };
      } else if (req.method === 'POST' && url.pathname === '/shutdown') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"stopping":true}');
        void stopAll();
        return;
      } else {
        throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e) }));
    }
  };
  const controlPort = await freePort();
  await new Promise<void>((r) => control.listen(controlPort, '127.0.0.1', r));

  const state: SandboxState = {
    pid: process.pid,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    motoUrl,
    webhookUrl: adminUrl,
    etcdUrl,
    region: DEFAULT_REGION,
    accountId: DEFAULT_ACCOUNT,
    kubernetesVersion: BINARIES.kube.version,
    helmVersion: BINARIES.helm.version,
    binDir: statePath('bin'),
    pki,
    defaultCluster: def,
    karpenter: Object.fromEntries(releases.map((r) => [r.version, r])),
    karpenterTarget: KARPENTER_TARGET,
    startedAt: new Date(started).toISOString(),
    startSeconds: (Date.now() - started) / 1000,
    buildSeconds: buildSeconds / 1000,
  };
  writeEnvFiles(state);
  log(`READY in ${state.startSeconds.toFixed(1)} s (control ${state.controlUrl})`);
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function probeReady(endpoint: string, pki: Pki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      `${endpoint}/readyz`,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

main().catch((e: unknown) => {
  log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
