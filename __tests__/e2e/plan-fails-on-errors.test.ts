/**
 * One failure rule for plans: an invalid manifest fails the plan step whichever check finds it. Here
 * a NodePool whose `nodeClassRef.group` carries a version (as one of Karpenter's own examples once
 * did) is caught by the offline schema check when the release's chart can be read, and only by the
 * API server's dry-run when it cannot; both runs exit 1, and the second still publishes its plan so
 * the reviewer sees the error on its line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlan, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  deleteCluster,
  E2E_RELEASES,
  installKarpenterCrds,
  localChartRepository,
  newCluster,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let workspace: string;

const NODEPOOL = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: windows
spec:
  template:
    spec:
      requirements:
        - key: kubernetes.io/os
          operator: In
          values: ['windows']
      nodeClassRef:
        group: karpenter.k8s.aws/v1
        kind: EC2NodeClass
        name: windows
`;

function writeConfig(chartRepository: string): void {
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: us-east-1
karpenter:
  version: ${E2E_RELEASES.previous}
  chartRepository: ${chartRepository}
manifests:
  - ../karpenter/*.yaml
`,
  );
}
const run = () => runAction({ inputs: { command: 'plan', stages: 'pools' }, env: actionEnv(), workspace });

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster);
  workspace = mkdtempSync(join(tmpdir(), 'ka-ws-'));
  mkdirSync(join(workspace, '.github'), { recursive: true });
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  writeFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), NODEPOOL);
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('caught offline (the chart is readable): the plan fails before any cluster call', async () => {
  writeConfig(localChartRepository());
  const r = await run();
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('::error file=karpenter/nodepool.yaml,line=');
  expect(r.stdout).toContain('nodeClassRef.group');
});

test('caught only by the API server (the chart cannot be read): the plan is published and still fails', async () => {
  writeConfig(join(workspace, 'no-charts-here'));
  const r = await run();
  expect(r.code).toBe(1);
  const pools = readPlan(r.outputs['plan-path']!).stages[0]!;
  expect(pools.findings.filter((f) => f.level === 'error').map((f) => [f.code, f.source?.file])).toEqual([
    ['manifest-rejected', 'karpenter/nodepool.yaml'],
  ]);
  expect(r.stdout).toContain(
    `the plan for ${cluster.name} has 1 error; it cannot be applied until it is fixed`,
  );
});
