/**
 * The verify stage's smoke test in the states Karpenter's real controller cannot be driven into in the
 * sandbox. The passing path (a NodeClaim launched, registered and initialized, the pod running, both
 * removed) is proven against the real controller in e2e/karpenter-live.test.ts. Here no controller,
 * controller manager, scheduler or kubelet runs, and the test plays them by hand for:
 * - a launch that fails with InsufficientCapacityError (the sandbox's simulated EC2 fleet always has
 *   capacity);
 * - a cluster whose verified controller never acts on the pod (no controller runs at all), so the
 *   smoke test times out and reports why the pod waits;
 * - a check before the smoke test that fails.
 */
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient, type KubeObject } from '../../src/adapters/kube.ts';
import { DEPLOYMENTS, NODECLAIMS } from '../../src/adapters/kube-resources.ts';
import { watchCollectionUntil } from '../../src/adapters/kube-watch.ts';
import type { ClusterConfig, SmokeTestConfig } from '../../src/config/load.ts';
import type { ManifestObject } from '../../src/config/manifests.ts';
import { runVerify } from '../../src/stages/verify.ts';
import { SMOKE_LABEL } from '../../src/stages/verify-smoke.ts';
import * as play from '../helpers/play-karpenter.ts';
import { NC, NCLAIM, NP } from '../helpers/play-karpenter.ts';
import {
  adminKube,
  deleteCluster,
  installKarpenterCrds,
  newCluster,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

let cluster: ClusterInfo;
let admin: KubeHttp;
let kube: KubeClient;
const TAINT = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' };

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster);
  admin = new KubeHttp(adminKube(cluster));
  kube = new KubeClient(admin);
  await play.createController(admin, PREVIOUS);
  await play.controllerAvailable(admin);
  await play.holdLease(admin);
  await play.createNodeClass(admin, 'default');
  await play.setConditions(admin, NC('default'), [{ type: 'Ready', status: 'True', reason: 'Ready' }]);
  await play.createNodePool(admin, 'batch', [TAINT]);
  await play.setConditions(admin, NP('batch'), [{ type: 'Ready', status: 'True', reason: 'Ready' }]);
  // the controller manager would have created the namespace's default service account
  await admin.request('POST', '/api/v1/namespaces/default/serviceaccounts', {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
  });
});
afterAll(() => deleteCluster(cluster.name));

const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const manifests: ManifestObject[] = [
  { kind: 'EC2NodeClass', name: 'default', obj: { kind: 'EC2NodeClass', metadata: { name: 'default' } } },
  { kind: 'NodePool', name: 'batch', obj: play.nodePoolObject('batch', [TAINT]) },
].map((m) => ({ obj: m.obj, file: 'k.yaml', line: 1, locate: () => undefined, legacy: false }));

function verify(smokeTimeoutSeconds: number, extra: ManifestObject[] = []) {
  const smokeTest: SmokeTestConfig = {
    nodePool: 'batch',
    namespace: 'default',
    image: 'public.ecr.aws/eks-distro/kubernetes/pause:3.7',
    cpu: '1',
    timeoutSeconds: smokeTimeoutSeconds,
    source: { file: 'karpenter.yaml', line: 9 },
  };
  const config = {
    cluster: 'c',
    region: 'us-east-1',
    karpenter: { version: PREVIOUS, namespace: 'kube-system', chartRepository: '' },
    verify: { timeoutSeconds: 1, smokeTest },
  } as ClusterConfig;
  return runVerify({ cluster: config, log, kube, manifests: [...manifests, ...extra], timeoutSeconds: 1 });
}

/** Waits (by watch) for the action's test Deployment and returns it. */
async function testDeployment(): Promise<KubeObject> {
  const seen = await watchCollectionUntil(
    kube,
    DEPLOYMENTS,
    { namespace: 'default', labelSelector: SMOKE_LABEL },
    (items) => items.length > 0,
    30_000,
  );
  expect(seen.ok).toBe(true);
  return seen.items[0]!;
}

/** Plays the ReplicaSet controller: one pod from the Deployment's template. */
async function createPod(d: KubeObject, nodeName?: string): Promise<string> {
  const tpl = (d.spec as { template: { metadata: { labels: Record<string, string> }; spec: object } })
    .template;
  const name = `${d.metadata!.name!}-pod`;
  await admin.request('POST', '/api/v1/namespaces/default/pods', {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: tpl.metadata.labels },
      spec: { ...tpl.spec, ...(nodeName ? { nodeName } : {}) },
    },
  });
  return name;
}

async function createNodeClaim(name: string, finalizer: boolean): Promise<void> {
  await admin.request('POST', '/apis/karpenter.sh/v1/nodeclaims', {
    body: {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodeClaim',
      metadata: {
        name,
        labels: { 'karpenter.sh/nodepool': 'batch', 'node.kubernetes.io/instance-type': 'm7i.large' },
        ...(finalizer ? { finalizers: ['karpenter.sh/termination'] } : {}),
      },
      spec: {
        nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
        requirements: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }],
      },
    },
  });
}

test('a NodeClaim that fails to launch fails the smoke test with its reason, and is left to Karpenter', async () => {
  const pending = verify(30);
  const d = await testDeployment();
  await createPod(d);
  await createNodeClaim('batch-def34', false);
  await play.setConditions(admin, NCLAIM('batch-def34'), [
    {
      type: 'Launched',
      status: 'False',
      reason: 'InsufficientCapacityError',
      message: 'all requested instance types were unavailable during launch',
    },
  ]);
  const r = await pending;
  const smoke = r.checks.filter((c) => c.name.startsWith('smoke test'));
  expect(smoke.map((c) => [c.name, c.status])).toEqual([
    ['smoke test: create the test Deployment', 'passed'],
    ['smoke test: NodeClaim created', 'passed'],
    ['smoke test: NodeClaim Launched', 'failed'],
    ['smoke test: clean up', 'passed'],
  ]);
  expect(smoke[2]!.detail).toBe(
    'NodeClaim batch-def34: Launched=False InsufficientCapacityError: all requested instance types were unavailable during launch',
  );
  expect(r.plan.findings.filter((f) => f.level === 'error').map((f) => f.code)).toEqual(['verify-failed']);
  // the test pod never ran there, so the NodeClaim may serve other pods: Karpenter removes it, not the action
  expect(smoke[3]!.detail).toContain(
    'NodeClaim batch-def34 is left to Karpenter: the test pod never ran on it',
  );
  expect(await kube.get(NODECLAIMS, 'batch-def34')).toBeDefined();
  await kube.delete(NODECLAIMS, 'batch-def34', {});
  expect(await kube.list(DEPLOYMENTS, { namespace: 'default', labelSelector: SMOKE_LABEL })).toEqual([]);
});

test('with no NodeClaim for the pod the smoke test times out and says why the pod waits', async () => {
  const pending = verify(2);
  const d = await testDeployment();
  const pod = await createPod(d);
  await admin.request('PATCH', `/api/v1/namespaces/default/pods/${pod}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
          },
        ],
      },
    },
  });
  const r = await pending;
  const smoke = r.checks.filter((c) => c.name.startsWith('smoke test'));
  expect(smoke.map((c) => [c.name, c.status])).toEqual([
    ['smoke test: create the test Deployment', 'passed'],
    ['smoke test: NodeClaim created', 'timed-out'],
    ['smoke test: clean up', 'passed'],
  ]);
  expect(smoke[1]!.detail).toBe(
    `no NodeClaim of NodePool batch appeared within 2 s: pod ${pod} is Pending; 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.`,
  );
  expect(await kube.list(DEPLOYMENTS, { namespace: 'default', labelSelector: SMOKE_LABEL })).toEqual([]);
});

test('the smoke test does not run when a check before it fails', async () => {
  const r = await verify(30, [
    { obj: play.nodePoolObject('absent'), file: 'k.yaml', line: 1, locate: () => undefined, legacy: false },
  ]);
  expect(r.checks.at(-1)).toMatchObject({
    name: 'smoke test',
    status: 'skipped',
    detail: 'not run: 1 check above did not pass',
  });
  expect(await kube.list(DEPLOYMENTS, { namespace: 'default', labelSelector: SMOKE_LABEL })).toEqual([]);
});
