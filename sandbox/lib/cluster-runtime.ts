/**
 * What makes a sandbox cluster behave like EKS with Karpenter, for the clusters that ask for it:
 * kube-scheduler, a trimmed kube-controller-manager and kwok (the simulated kubelets) run beside the
 * cluster's API server, so Deployments get pods that are scheduled and run on simulated nodes; and
 * when a `karpenter` Deployment appears, the sandbox runs that release's controller (the `kwok`
 * program of the same karpenter-provider-aws release) with the settings the Deployment carries and
 * the AWS identity the action configured for its service account. The controller's output is written
 * as a container log that kwok serves, so `kubectl logs` and the action's log reading see it.
 */
import { createInterface } from 'node:readline';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1Deployment,
  type V1EnvVar,
} from '@kubernetes/client-node';
import {
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { Pki } from './certs.ts';
import { adminKubeConfig, type KubeEndpoint } from './kube-admin.ts';
import { sandboxClients, type AwsTarget } from './aws.ts';
import { freePort, startProcess, stopProcess, type Managed } from './proc.ts';

export interface RuntimeOptions {
  cluster: string;
  endpoint: string;
  pki: Pki;
  kube: KubeEndpoint;
  aws: AwsTarget & { region: string };
  /** Directory of the multi-call kube binary (kube-scheduler, kube-controller-manager links). */
  kubeDir: string;
  kwokBin: string;
  /** kwok's stage files: node initialize and heartbeat, pod lifecycle. */
  kwokStages: string[];
  dir: string;
  /**
   * The controller binary a Karpenter release runs, when the sandbox has one built: the release's own,
   * or a stand-in's (`build`, with the `reason` its own cannot be built).
   */
  controllerBinary: (version: string) => { path: string; build: string; reason?: string } | undefined;
  log: (line: string) => void;
}

/**
 * kube-controller-manager's controllers the sandbox needs: workloads, garbage collection, node health,
 * PodDisruptionBudget status (evictions during drain read it), namespace deletion and each namespace's
 * default service account.
 */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'daemonset-controller',
  'garbage-collector-controller',
  'pod-garbage-collector-controller',
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'disruption-controller',
  'namespace-controller',
  'serviceaccount-controller',
];

/** Address the simulated kubelets advertise: the API server reaches kwok there for logs. */
export const NODE_IP = '127.0.0.1';

export interface ControllerRun {
  key: string;
  namespace: string;
  deployment: string;
  version: string;
  proc?: Managed;
  logFile: string;
  startedAt: Date;
}

export class ClusterRuntime {
  readonly kubeletPort: number;
  private readonly procs: Managed[] = [];
  private readonly controllers = new Map<string, ControllerRun>();
  private timer?: NodeJS.Timeout;
  private syncing = false;
  private stopped = false;

  private readonly o: RuntimeOptions;
  /** The admin client the Deployment watch polls with, made once. */
  private readonly apps: AppsV1Api;

  private constructor(o: RuntimeOptions, kubeletPort: number) {
    this.o = o;
    this.kubeletPort = kubeletPort;
    this.apps = adminKubeConfig(o.kube).makeApiClient(AppsV1Api);
  }

  /** Starts the scheduler, controller manager and kwok; the controller watch starts with watchKarpenter. */
  static async start(o: RuntimeOptions): Promise<ClusterRuntime> {
    mkdirSync(join(o.dir, 'logs'), { recursive: true });
    const kubeconfig = join(o.dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(o, { cert: o.pki.adminCert, key: o.pki.adminKey }), {
      mode: 0o600,
    });
    const rt = new ClusterRuntime(o, await freePort());
    const auth = [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
    ];
    rt.procs.push(
      startProcess(
        `${o.cluster}/kube-scheduler`,
        join(o.kubeDir, 'kube-scheduler'),
        auth,
        join(o.dir, 'logs', 'kube-scheduler.log'),
      ),
      startProcess(
        `${o.cluster}/kube-controller-manager`,
        join(o.kubeDir, 'kube-controller-manager'),
        [
          ...auth,
          `--controllers=${CONTROLLERS.join(',')}`,
          '--use-service-account-credentials=false',
          '--node-monitor-grace-period=40s',
          '--concurrent-deployment-syncs=2',
          '--concurrent-replicaset-syncs=2',
        ],
        join(o.dir, 'logs', 'kube-controller-manager.log'),
      ),
    );
    const kwokConfig = join(o.dir, 'kwok.yaml');
    writeFileSync(
      kwokConfig,
      [
        ...o.kwokStages.map((f) => `# ${f}\n${readFileSync(f, 'utf8')}`),
        // Every karpenter pod's `controller` container log is the file the running controller writes.
        ...['kube-system', 'karpenter'].map((ns) =>
          [
            'apiVersion: kwok.x-k8s.io/v1alpha1',
            'kind: ClusterLogs',
            'metadata:',
            `  name: karpenter-${ns}`,
            'spec:',
            '  selector:',
            `    matchNamespaces: [${ns}]`,
            '  logs:',
            '  - containers: [controller]',
            `    logsFile: ${join(o.dir, 'logs', `karpenter-${ns}.cri.log`)}`,
            '    follow: true',
          ].join('\n'),
        ),
      ].join('\n---\n'),
    );
    for (const ns of ['kube-system', 'karpenter'])
      writeFileSync(join(o.dir, 'logs', `karpenter-${ns}.cri.log`), '');
    rt.procs.push(
      startProcess(
        `${o.cluster}/kwok`,
        o.kwokBin,
        [
          `--kubeconfig=${kubeconfig}`,
          `--config=${kwokConfig}`,
          '--manage-all-nodes=true',
          // Node Leases are what keep a node Ready for the node-lifecycle controller between status
          // heartbeats, as the kubelet's are.
          '--node-lease-duration-seconds=40',
          `--node-ip=${NODE_IP}`,
          `--node-port=${rt.kubeletPort}`,
          `--server-address=${NODE_IP}:${rt.kubeletPort}`,
          `--tls-cert-file=${o.pki.serverCert}`,
          `--tls-private-key-file=${o.pki.serverKey}`,
        ],
        join(o.dir, 'logs', 'kwok.log'),
      ),
    );
    return rt;
  }

  /** Polls for Karpenter Deployments and keeps one controller process per Deployment in step with it. */
  watchKarpenter(intervalMs = 1000): void {
    const tick = (): void => {
      if (this.stopped) return;
      void this.sync()
        .catch((e: unknown) => this.o.log(`${this.o.cluster}: karpenter watch: ${String(e)}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  /** The controller processes running now, for the status endpoint and the demo. */
  running(): ControllerRun[] {
    return [...this.controllers.values()];
  }

  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const list = await this.apps.listDeploymentForAllNamespaces({
        labelSelector: 'app.kubernetes.io/name=karpenter',
      });
      const wanted = new Map<string, V1Deployment>();
      for (const d of list.items) {
        if ((d.spec?.replicas ?? 1) < 1 || d.metadata?.deletionTimestamp) continue;
        wanted.set(`${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`, d);
      }
      for (const [id, run] of this.controllers) {
        const d = wanted.get(id);
        if (!d || runKey(d) !== run.key) {
          this.o.log(`${this.o.cluster}: stopping Karpenter ${run.version} controller of ${id}`);
          this.controllers.delete(id);
          if (run.proc) await stopProcess(run.proc, 10000);
        }
      }
      for (const [id, d] of wanted) {
        if (!this.controllers.has(id)) this.controllers.set(id, await this.startController(d));
      }
    } finally {
      this.syncing = false;
    }
  }

  private async startController(d: V1Deployment): Promise<ControllerRun> {
    const namespace = d.metadata?.namespace ?? 'kube-system';
    const name = d.metadata?.name ?? 'karpenter';
    const version = deploymentVersion(d) ?? 'unknown';
    const logFile = join(this.o.dir, 'logs', `karpenter-${namespace}.cri.log`);
    const run: ControllerRun = {
      key: runKey(d),
      namespace,
      deployment: name,
      version,
      logFile,
      startedAt: new Date(),
    };
    // A new pod has a new log: the previous controller's lines go with its pod.
    const out = createWriteStream(logFile, { flags: 'w' });
    const note = (line: string): void => writeCri(out, 'stderr', line);
    const binary = this.o.controllerBinary(version);
    if (!binary) {
      note(`sandbox: no Karpenter controller is built for version ${version}; its pod runs without one`);
      this.o.log(`${this.o.cluster}: no controller build for Karpenter ${version}`);
      return run;
    }
    const container = d.spec?.template?.spec?.containers?.find((c) => c.name === 'controller');
    const sa = d.spec?.template?.spec?.serviceAccountName ?? 'default';
    const env: Record<string, string> = {};
    for (const e of container?.env ?? []) {
      const v = envValue(e, namespace, container?.resources);
      if (v !== undefined) env[e.name] = v;
    }
    const [kubeconfig, aws] = await Promise.all([
      this.serviceAccountKubeconfig(namespace, sa),
      this.awsIdentity(namespace, sa, note),
    ]);
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const procEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.o.dir,
      ...env,
      KUBECONFIG: kubeconfig,
      SYSTEM_NAMESPACE: namespace,
      LEADER_ELECTION_NAMESPACE: namespace,
      METRICS_PORT: String(metricsPort),
      HEALTH_PROBE_PORT: String(healthPort),
      DISABLE_WEBHOOK: 'true',
      AWS_REGION: this.o.aws.region,
      AWS_ENDPOINT_URL: this.o.aws.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...aws,
    };
    note(
      binary.build === version
        ? `sandbox: Karpenter controller v${version} (${binary.path})`
        : `sandbox: Karpenter controller v${binary.build} stands in for release ${version}, whose own cannot be built: ${binary.reason ?? ''} (${binary.path})`,
    );
    const child = spawn(binary.path, [], { env: procEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [stream, name2] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      createInterface({ input: stream }).on('line', (l) => writeCri(out, name2, l));
    }
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        note(`sandbox: controller exited with ${code ?? 'a signal'}`);
        resolve(code);
      }),
    );
    run.proc = { name: `${this.o.cluster}/karpenter`, child, logFile, exited };
    this.o.log(
      `${this.o.cluster}: started Karpenter ${version} controller${binary.build === version ? '' : ` (the ${binary.build} build)`} for ${namespace}/${name} as ${sa} (pid ${child.pid})`,
    );
    return run;
  }

  /**
   * The controller talks to the API server as its service account, with a token from the TokenRequest
   * API as a pod's projected token would be, so the chart's RBAC is what it gets. The only addition
   * stands in for what EC2 and the kubelet do in EKS: kwok's provider registers each launched
   * instance's Node (the kubelet's job) and keeps its simulated instances in ConfigMaps.
   */
  private async serviceAccountKubeconfig(namespace: string, sa: string): Promise<string> {
    const kc = adminKubeConfig(this.o.kube);
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const role = 'sandbox:karpenter-kwok-simulation';
    const binding = `${role}:${namespace}:${sa}`;
    await rbac
      .createClusterRole({
        body: {
          metadata: { name: role },
          rules: [
            { apiGroups: [''], resources: ['nodes'], verbs: ['create'] },
            {
              apiGroups: [''],
              resources: ['configmaps'],
              verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'],
            },
          ],
        },
      })
      .catch(ignoreConflict);
    await rbac.deleteClusterRoleBinding({ name: binding }).catch(() => undefined);
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: binding },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
      },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
    });
    const file = join(this.o.dir, `controller-${namespace}.kubeconfig`);
    writeFileSync(file, kubeconfigFor(this.o, { token: token.status?.token ?? '' }), { mode: 0o600 });
    return file;
  }

  /**
   * The AWS identity a pod of this service account gets on EKS: the role of its Pod Identity
   * association, or the IRSA role its annotation names, assumed through moto's STS. With neither, the
   * controller gets no credentials at all, as on EKS with IMDS closed to pods, and fails its own way.
   */
  private async awsIdentity(
    namespace: string,
    sa: string,
    note: (line: string) => void,
  ): Promise<Record<string, string>> {
    const { eks, sts } = sandboxClients(this.o.aws);
    let roleArn: string | undefined;
    let how = '';
    const assoc = await eks
      .send(
        new ListPodIdentityAssociationsCommand({
          clusterName: this.o.cluster,
          namespace,
          serviceAccount: sa,
        }),
      )
      .catch(() => undefined);
    const first = assoc?.associations?.[0];
    if (first?.associationId) {
      const desc = await eks.send(
        new DescribePodIdentityAssociationCommand({
          clusterName: this.o.cluster,
          associationId: first.associationId,
        }),
      );
      roleArn = desc.association?.roleArn;
      how = 'EKS Pod Identity';
    }
    if (!roleArn) {
      const core = adminKubeConfig(this.o.kube).makeApiClient(CoreV1Api);
      const account = await core.readNamespacedServiceAccount({ name: sa, namespace }).catch(() => undefined);
      roleArn = account?.metadata?.annotations?.['eks.amazonaws.com/role-arn'];
      how = 'IRSA';
    }
    if (!roleArn) {
      note(`sandbox: service account ${namespace}/${sa} has no Pod Identity association and no IRSA role`);
      return { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    }
    const creds = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'karpenter' }));
    note(`sandbox: AWS identity ${roleArn} through ${how}`);
    return {
      AWS_ACCESS_KEY_ID: creds.Credentials?.AccessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: creds.Credentials?.SecretAccessKey ?? '',
      AWS_SESSION_TOKEN: creds.Credentials?.SessionToken ?? '',
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const runs = [...this.controllers.values()];
    this.controllers.clear();
    await Promise.all([
      ...runs.flatMap((r) => (r.proc ? [stopProcess(r.proc, 10000)] : [])),
      ...this.procs.map((p) => stopProcess(p)),
    ]);
  }
}

/**
 * What restarts a controller when it changes: the release, the pod template, or the Deployment itself
 * (a new uid). Scaling to zero stops it without the key (the watch drops Deployments without replicas).
 */
function runKey(d: V1Deployment): string {
  return JSON.stringify([deploymentVersion(d), d.spec?.template, d.metadata?.uid]);
}

/** The release a Karpenter Deployment runs: the controller image's tag, else the chart's version label. */
export function deploymentVersion(d: V1Deployment): string | undefined {
  const image = d.spec?.template?.spec?.containers?.find((c) => c.name === 'controller')?.image ?? '';
  return /:v?(\d+\.\d+\.\d+)(?:@|$)/.exec(image)?.[1] ?? d.metadata?.labels?.['app.kubernetes.io/version'];
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;

/** An env var's value as the kubelet would give it: literal, the pod's namespace, or a resource field. */
function envValue(e: V1EnvVar, namespace: string, resources: Resources): string | undefined {
  if (e.value !== undefined) return e.value;
  const field = e.valueFrom?.fieldRef?.fieldPath;
  if (field === 'metadata.namespace') return namespace;
  const ref = e.valueFrom?.resourceFieldRef;
  if (ref) {
    const [kind, res] = ref.resource.split('.') as ['requests' | 'limits', string];
    const raw = resources?.[kind]?.[res] ?? resources?.requests?.[res];
    const divisor = quantity(String(ref.divisor ?? '1')) || 1;
    // Without a limit the kubelet gives the node's allocatable; the seeded nodes have 7220Mi and 1930m.
    const value = raw ? quantity(raw) : res === 'memory' ? 7220 * 2 ** 20 : 1.93;
    return String(Math.ceil(value / divisor));
  }
  return undefined;
}

/** A Kubernetes quantity as a number (cores, bytes). */
export function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const unit: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return n * (unit[m[2] ?? ''] ?? 1);
}

/** A line as containerd writes a container log: time, stream, full-line tag, text. */
function writeCri(out: WriteStream, stream: 'stdout' | 'stderr', line: string): void {
  out.write(`${new Date().toISOString()} ${stream} F ${line}\n`);
}

function kubeconfigFor(o: RuntimeOptions, user: { cert?: string; key?: string; token?: string }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.cluster, cluster: { server: o.endpoint, 'certificate-authority': o.pki.caCert } }],
    users: [
      {
        name: 'user',
        user: user.token
          ? { token: user.token }
          : { 'client-certificate': user.cert, 'client-key': user.key },
      },
    ],
    contexts: [{ name: o.cluster, context: { cluster: o.cluster, user: 'user' } }],
    'current-context': o.cluster,
  });
}

function ignoreConflict(e: unknown): void {
  if ((e as { code?: number }).code !== 409) throw e;
}
