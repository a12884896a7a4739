/**
 * The pools stage end to end through the bundled action, as the runner runs it: plan shows the
 * creates, apply applies them, a second plan is empty, a hand edit in the cluster shows up as exactly
 * that change, a stale fingerprint is refused without any write, and removed manifests are left
 * alone unless pruning is enabled. Karpenter's CRDs are installed by the test (the install stage's
 * job), since the pools stage needs them in the cluster.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import {
  adminKube,
  actionEnv,
  deleteCluster,
  installKarpenterCrds,
  newCluster,
  localChartRepository,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';
import { readPlan, runAction } from '../helpers/run-action.ts';

const PREVIOUS = E2E_RELEASES.previous;

let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;

const NODEPOOL = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: ['on-demand']
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
  limits:
    cpu: 100
`;
const NODECLASS = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-\${CLUSTER_NAME}
  amiSelectorTerms:
    - alias: al2023@v20260101
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: \${CLUSTER_NAME}
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: \${CLUSTER_NAME}
`;

function writeConfig(extra = ''): void {
  mkdirSync(join(workspace, '.github'), { recursive: true });
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: us-east-1
karpenter:
  version: ${PREVIOUS}
  chartRepository: ${localChartRepository()}
manifests:
  - ../karpenter/*.yaml
${extra}`,
  );
}

const run = (inputs: Record<string, string>) =>
  runAction({
    inputs: { stages: 'pools', ...inputs },
    env: actionEnv(),
    workspace,
  });

beforeAll(async () => {
  cluster = await newCluster();
  await installKarpenterCrds(cluster);
  admin = new KubeHttp(adminKube(cluster));
  workspace = mkdtempSync(join(tmpdir(), 'ka-ws-'));
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  writeFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), NODEPOOL);
  writeFileSync(join(workspace, 'karpenter', 'nodeclass.yaml'), NODECLASS);
  // globs are relative to the config file, which is in .github/
  writeConfig();
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('plan → apply → empty plan → hand edit → stale fingerprint → prune', async () => {
  const first = await run({ command: 'plan' });
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.outputs['has-changes']).toBe('true');
  expect(first.outputs.summary).toBe('+2 ~0 -0');
  expect(first.outputs.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  const plan1 = readPlan(first.outputs['plan-path']!);
  expect(plan1.formatVersion).toBe(1);
  const creates = plan1.stages[0]!.changes.filter((c) => c.action === 'create');
  expect(creates.map((c) => c.ref)).toEqual([
    'k8s:karpenter.k8s.aws/v1/EC2NodeClass/default',
    'k8s:karpenter.sh/v1/NodePool/default',
  ]);
  // the server's defaults show in the plan, and the placeholder was filled from the config
  const nc = creates[0]!.after as {
    spec: { role: string; metadataOptions: { httpPutResponseHopLimit: number } };
  };
  expect(nc.spec.role).toBe(`KarpenterNodeRole-${cluster.name}`);
  expect(nc.spec.metadataOptions.httpPutResponseHopLimit).toBe(1);
  expect(first.summary).toContain('NodePool');
  // plan never writes
  await expect(admin.request('GET', '/apis/karpenter.sh/v1/nodepools/default')).rejects.toMatchObject({
    code: 404,
  });

  const applied = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect(applied.code).toBe(0);
  const np = await admin.request<{
    metadata: { labels: Record<string, string> };
    spec: { limits: { cpu: number } };
  }>('GET', '/apis/karpenter.sh/v1/nodepools/default');
  expect(np.metadata.labels['app.kubernetes.io/managed-by']).toBe('karpenter-action');

  const second = await run({ command: 'plan' });
  expect(second.code).toBe(0);
  expect(second.outputs['has-changes']).toBe('false');
  expect(second.outputs.summary).toBe('+0 ~0 -0');

  // a hand edit, as `kubectl edit nodepool default` would make it
  await admin.request('PATCH', '/apis/karpenter.sh/v1/nodepools/default', {
    query: { fieldManager: 'kubectl-edit' },
    contentType: 'application/merge-patch+json',
    body: { spec: { limits: { cpu: 500 } } },
  });
  const drifted = await run({ command: 'plan' });
  expect(drifted.outputs.summary).toBe('+0 ~1 -0');
  const update = readPlan(drifted.outputs['plan-path']!).stages[0]!.changes.filter(
    (c) => c.action === 'update',
  );
  expect(update).toHaveLength(1);
  expect(update[0]!.ref).toBe('k8s:karpenter.sh/v1/NodePool/default');
  expect(update[0]!.fieldChanges).toEqual([
    { path: 'spec.limits.cpu', op: 'change', before: 500, after: 100 },
  ]);
  expect(update[0]!.impact?.replacesNodes).toBe(false);

  // the fingerprint approved before the edit no longer matches: refused, nothing written
  const stale = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect(stale.code).toBe(1);
  expect(stale.stdout).toContain('plan is stale');
  const still = await admin.request<{ spec: { limits: { cpu: number } } }>(
    'GET',
    '/apis/karpenter.sh/v1/nodepools/default',
  );
  expect(still.spec.limits.cpu).toBe(500);

  // removing a manifest leaves the object alone unless pruning is enabled
  rmSync(join(workspace, 'karpenter', 'nodepool.yaml'));
  await run({ command: 'apply', fingerprint: drifted.outputs.fingerprint! }); // stale again: refused
  const leftAlone = readPlan((await run({ command: 'plan' })).outputs['plan-path']!);
  const kept = leftAlone.stages[0]!.changes.find((c) => c.ref === 'k8s:karpenter.sh/v1/NodePool/default');
  expect(kept).toMatchObject({
    action: 'no-op',
    reason: expect.stringContaining('pruning is disabled') as unknown,
  });

  writeConfig('pools:\n  prune: true\n');
  const pruning = await run({ command: 'plan' });
  expect(pruning.outputs.summary).toBe('+0 ~0 -1');
  const pruned = await run({ command: 'apply', fingerprint: pruning.outputs.fingerprint! });
  expect(pruned.code).toBe(0);
  await expect(admin.request('GET', '/apis/karpenter.sh/v1/nodepools/default')).rejects.toMatchObject({
    code: 404,
  });
  // the EC2NodeClass, still in the repository, is untouched
  await expect(
    admin.request('GET', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses/default'),
  ).resolves.toBeDefined();
});
