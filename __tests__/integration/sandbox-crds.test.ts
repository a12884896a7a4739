/**
 * Karpenter 1.14.1's own CRDs, taken from its Go module, install into the sandbox's API server and
 * enforce their schema and CEL rules on server-side dry-run, with the CRDs' own messages.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { KubeHttp, type KubeApiError } from '../../src/adapters/kube-http.ts';
import { adminKube, deleteCluster, newCluster, sandbox, type ClusterInfo } from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let kube: KubeHttp;

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'manifests');
const valid = parseAllDocuments(readFileSync(join(FIXTURES, 'valid-v1.yaml'), 'utf8')).map(
  (d) => d.toJS() as KubernetesObject & { spec: Record<string, unknown> },
);
const nodePool = () => structuredClone(valid[0]!);
const nodeClass = () => structuredClone(valid[1]!);

const PATHS: Record<string, string> = {
  NodePool: '/apis/karpenter.sh/v1/nodepools',
  EC2NodeClass: '/apis/karpenter.k8s.aws/v1/ec2nodeclasses',
};
const dryRunApply = (obj: KubernetesObject) =>
  kube.request<KubernetesObject>('PATCH', `${PATHS[obj.kind!]}/${obj.metadata!.name}`, {
    query: { dryRun: 'All', fieldManager: 'karpenter-action-test', force: 'true' },
    contentType: 'application/apply-patch+yaml',
    body: obj,
  });

beforeAll(async () => {
  cluster = await newCluster();
  kube = new KubeHttp(adminKube(cluster));
  const dir = sandbox().karpenter['1.14.1']!.crdsDir;
  const names: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const crd = parseAllDocuments(
      readFileSync(join(dir, f), 'utf8'),
    )[0]!.toJS() as V1CustomResourceDefinition;
    await kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    names.push(crd.metadata!.name!);
  }
  // Established is set by the API server itself once the CRD is served; wait for it on every CRD.
  const deadline = Date.now() + 30000;
  for (const name of names) {
    for (;;) {
      const crd = await kube.request<V1CustomResourceDefinition>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  expect(names.sort()).toEqual([
    'capacitybuffers.autoscaling.x-k8s.io',
    'ec2nodeclasses.karpenter.k8s.aws',
    'nodeclaims.karpenter.sh',
    'nodeoverlays.karpenter.sh',
    'nodepools.karpenter.sh',
  ]);
});
afterAll(async () => {
  await deleteCluster(cluster.name);
});

test('a valid NodePool and EC2NodeClass are accepted by server-side dry-run, defaults applied', async () => {
  const np = (await dryRunApply(nodePool())) as KubernetesObject & {
    spec: { disruption: { budgets?: unknown[] } };
  };
  expect(np.metadata?.name).toBe('default');
  expect(np.spec.disruption.budgets).toEqual([{ nodes: '10%' }]);
  const nc = (await dryRunApply(nodeClass())) as KubernetesObject & {
    spec: { metadataOptions?: { httpPutResponseHopLimit?: number } };
  };
  expect(nc.spec.metadataOptions?.httpPutResponseHopLimit).toBe(1);
});

async function rejection(obj: KubernetesObject): Promise<string> {
  try {
    await dryRunApply(obj);
  } catch (e) {
    const err = e as KubeApiError;
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
    return err.status?.message ?? '';
  }
  throw new Error('expected the API server to reject the object');
}

test('an EC2NodeClass with both role and instanceProfile is rejected by the CRD rule', async () => {
  const nc = nodeClass();
  nc.spec.instanceProfile = 'KarpenterNodeInstanceProfile';
  expect(await rejection(nc)).toContain("must specify exactly one of ['role', 'instanceProfile']");
});

test('an alias AMI term next to another AMI term is rejected by the CRD rule', async () => {
  const nc = nodeClass();
  nc.spec.amiSelectorTerms = [{ alias: 'al2023@latest' }, { id: 'ami-0123456789abcdef0' }];
  expect(await rejection(nc)).toContain(
    "'alias' is mutually exclusive, cannot be set with a combination of other amiSelectorTerms",
  );
});

test('a NodePool whose nodeClassRef has no group is rejected as a required field', async () => {
  const np = nodePool() as KubernetesObject & {
    spec: { template: { spec: { nodeClassRef: Record<string, string> } } };
  };
  delete np.spec.template.spec.nodeClassRef.group;
  expect(await rejection(np)).toMatch(/spec\.template\.spec\.nodeClassRef\.group: Required value/);
});
