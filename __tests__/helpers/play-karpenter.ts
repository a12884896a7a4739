/**
 * Karpenter's controller does not run in the sandbox, and neither do the scheduler, the kubelet or the
 * controller manager. Tests that need what they would write play their part with these: the
 * controller Deployment's status, the leader lease, status conditions, NodeClaims, Nodes and pods.
 */
import type { KubeHttp } from '../../src/adapters/kube-http.ts';

export const CONTROLLER_PATH = '/apis/apps/v1/namespaces/kube-system/deployments/karpenter';
export const NC = (n: string) => `/apis/karpenter.k8s.aws/v1/ec2nodeclasses/${n}`;
export const NP = (n: string) => `/apis/karpenter.sh/v1/nodepools/${n}`;
export const NCLAIM = (n: string) => `/apis/karpenter.sh/v1/nodeclaims/${n}`;
/** A timestamp in the form the API server stores (microseconds for leases, seconds for conditions). */
export const microTime = () => new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
const seconds = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function createController(admin: KubeHttp, version: string): Promise<void> {
  await admin.request('POST', '/apis/apps/v1/namespaces/kube-system/deployments', {
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'karpenter', namespace: 'kube-system' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'karpenter' } },
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'karpenter' } },
          spec: {
            containers: [{ name: 'controller', image: `public.ecr.aws/karpenter/controller:${version}` }],
          },
        },
      },
    },
  });
}

/** The Deployment controller's report that every replica is up for the current generation. */
export async function controllerAvailable(admin: KubeHttp): Promise<void> {
  const d = await admin.request<{ metadata: { generation: number } }>('GET', CONTROLLER_PATH);
  await admin.request('PATCH', `${CONTROLLER_PATH}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        observedGeneration: d.metadata.generation,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      },
    },
  });
}

/** The elected controller replica's leader lease. */
export async function holdLease(admin: KubeHttp, holder = 'karpenter-7d9f-abcde'): Promise<void> {
  await admin.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
    body: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'karpenter-leader-election', namespace: 'kube-system' },
      spec: { holderIdentity: holder, leaseDurationSeconds: 3600, renewTime: microTime() },
    },
  });
}

export async function createNodeClass(admin: KubeHttp, name: string): Promise<void> {
  await admin.request('POST', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses', {
    body: {
      apiVersion: 'karpenter.k8s.aws/v1',
      kind: 'EC2NodeClass',
      metadata: { name },
      spec: {
        role: 'KarpenterNodeRole-c',
        amiSelectorTerms: [{ alias: 'al2023@v20260101' }],
        subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'c' } }],
        securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'c' } }],
      },
    },
  });
}

/** A NodePool object as its manifest would hold it. */
export function nodePoolObject(name: string, taints: { key: string; value?: string; effect: string }[] = []) {
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name },
    spec: {
      template: {
        spec: {
          requirements: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }],
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
          ...(taints.length > 0 ? { taints } : {}),
        },
      },
    },
  };
}

export async function createNodePool(
  admin: KubeHttp,
  name: string,
  taints: { key: string; value?: string; effect: string }[] = [],
): Promise<void> {
  await admin.request('POST', '/apis/karpenter.sh/v1/nodepools', { body: nodePoolObject(name, taints) });
}

type Cond = { type: string; status: string; reason: string; message?: string };

/** Writes status conditions the way the controller does, for the object's current generation. */
export async function setConditions(admin: KubeHttp, path: string, conditions: Cond[], extra: object = {}) {
  const o = await admin.request<{ metadata: { generation: number } }>('GET', path);
  await admin.request('PATCH', `${path}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        ...extra,
        conditions: conditions.map((c) => ({
          ...c,
          message: c.message ?? '',
          lastTransitionTime: seconds(),
          observedGeneration: o.metadata.generation,
        })),
      },
    },
  });
}
