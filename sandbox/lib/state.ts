import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Pki } from './certs.ts';
import type { KarpenterRelease } from './karpenter.ts';
import { ROOT, statePath } from './paths.ts';
import type { SeededCluster } from './seed.ts';

/** What a test or the demo may ask of the supervisor's POST /clusters. */
export interface NewClusterOptions {
  name?: string;
  authenticationMode?: 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP';
  kubernetesVersion?: string;
  autoMode?: boolean;
  accountId?: string;
  region?: string;
  withClusterAutoscaler?: boolean;
  /**
   * Run kube-scheduler, kube-controller-manager and kwok for this cluster, and Karpenter's controller
   * once the action installs it. Costs about 700 MB and some CPU, so only clusters that need it ask.
   */
  controllers?: boolean;
}

export interface ClusterInfo extends SeededCluster {
  endpoint: string;
  apiserverId: string;
  controllers: boolean;
  /** The cluster's runtime directory (component logs, the controller's log) when controllers run. */
  runtimeDir?: string;
}

/** What a running sandbox tells its users: written last, so its presence means "ready". */
export interface SandboxState {
  pid: number;
  controlUrl: string;
  motoUrl: string;
  /** The moto launcher's admin server: the TokenReview webhook, kube registrations and /faults. */
  webhookUrl: string;
  etcdUrl: string;
  region: string;
  accountId: string;
  kubernetesVersion: string;
  helmVersion: string;
  binDir: string;
  pki: Pki;
  defaultCluster: ClusterInfo;
  karpenter: Record<string, KarpenterRelease>;
  karpenterTarget: string;
  startedAt: string;
  startSeconds: number;
  buildSeconds: number;
}

export const STATE_FILE = statePath('state.json');

export function readState(): SandboxState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as SandboxState;
  } catch {
    return undefined;
  }
}

function hasAwsCli(): boolean {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A kubeconfig as `aws eks update-kubeconfig` writes it, with the project's CLI as the fallback token source. */
export function userKubeconfig(s: SandboxState, cluster: ClusterInfo): string {
  const exec = hasAwsCli()
    ? {
        command: 'aws',
        args: ['--region', s.region, 'eks', 'get-token', '--cluster-name', cluster.name, '--output', 'json'],
      }
    : {
        command: process.execPath,
        args: [`${ROOT}/bin/karpenter-action.js`, 'token', '--cluster', cluster.name, '--region', s.region],
      };
  const ca = Buffer.from(readFileSync(s.pki.caCert)).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: cluster.name, cluster: { server: cluster.endpoint, 'certificate-authority-data': ca } },
      ],
      users: [
        {
          name: cluster.name,
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              command: exec.command,
              args: exec.args,
              interactiveMode: 'Never',
              env: [
                { name: 'AWS_ENDPOINT_URL', value: s.motoUrl },
                { name: 'AWS_ACCESS_KEY_ID', value: 'testing' },
                { name: 'AWS_SECRET_ACCESS_KEY', value: 'testing' },
              ],
            },
          },
        },
      ],
      contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: cluster.name } }],
      'current-context': cluster.name,
    },
    null,
    2,
  );
}

export function adminKubeconfigFile(s: SandboxState, cluster: ClusterInfo): string {
  const b64 = (p: string) => Buffer.from(readFileSync(p)).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: cluster.name,
          cluster: { server: cluster.endpoint, 'certificate-authority-data': b64(s.pki.caCert) },
        },
      ],
      users: [
        {
          name: 'sandbox-admin',
          user: { 'client-certificate-data': b64(s.pki.adminCert), 'client-key-data': b64(s.pki.adminKey) },
        },
      ],
      contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: 'sandbox-admin' } }],
      'current-context': cluster.name,
    },
    null,
    2,
  );
}

/** .sandbox/env holds export lines so `source .sandbox/env` gives a terminal the aws CLI, kubectl and helm. */
export function writeEnvFiles(s: SandboxState): void {
  const c = s.defaultCluster;
  writeFileSync(statePath('kubeconfig'), userKubeconfig(s, c), { mode: 0o600 });
  writeFileSync(statePath('admin.kubeconfig'), adminKubeconfigFile(s, c), { mode: 0o600 });
  const release = s.karpenter[s.karpenterTarget];
  const lines = [
    '# karpenter-action sandbox; source this file',
    `export AWS_ENDPOINT_URL=${s.motoUrl}`,
    'export AWS_ACCESS_KEY_ID=testing',
    'export AWS_SECRET_ACCESS_KEY=testing',
    'unset AWS_SESSION_TOKEN AWS_PROFILE',
    `export AWS_REGION=${s.region}`,
    `export AWS_DEFAULT_REGION=${s.region}`,
    `export CLUSTER_NAME=${c.name}`,
    `export KUBECONFIG=${statePath('kubeconfig')}`,
    `export SANDBOX_ADMIN_KUBECONFIG=${statePath('admin.kubeconfig')}`,
    `export SANDBOX_CONTROL_URL=${s.controlUrl}`,
    `export KARPENTER_VERSION=${s.karpenterTarget}`,
    `export SANDBOX_KARPENTER_CHART=${release?.chartDir ?? ''}`,
    `export SANDBOX_KARPENTER_CRD_CHART=${release?.crdChartDir ?? ''}`,
    `export HELM_CACHE_HOME=${statePath('helm', 'cache')}`,
    `export HELM_CONFIG_HOME=${statePath('helm', 'config')}`,
    `export HELM_DATA_HOME=${statePath('helm', 'data')}`,
    `export PATH=${s.binDir}:$PATH`,
    '',
  ];
  writeFileSync(statePath('env'), lines.join('\n'));
  const tmp = `${STATE_FILE}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, STATE_FILE);
}
