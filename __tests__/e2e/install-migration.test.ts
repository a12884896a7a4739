/**
 * The install stage's move off Cluster Autoscaler, through the bundled action: the controller pinned to
 * the existing node groups, Cluster Autoscaler scaled to zero and the node group shrunk only after the
 * controller is available at the target version. The whole migration with Karpenter's real controller
 * is proven in karpenter-live.test.ts; with the real controller the window in which its Deployment is
 * not yet available lasts well under a second, so this file holds the cluster in that state by hand:
 * no controller runs here, and the test writes the karpenter Deployment's status as the Deployment
 * controller would. Also: chart values that the target chart does not have, or refuses together, are
 * errors with their line, before any write.
 */
import { rmSync } from 'node:fs';
import { DescribeNodegroupCommand, EKSClient } from '@aws-sdk/client-eks';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { holdLease } from '../helpers/play-karpenter.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  awsEnv,
  deleteCluster,
  newCluster,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';

const PREVIOUS = E2E_RELEASES.previous;

let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;

const CA = '/apis/apps/v1/namespaces/kube-system/deployments/cluster-autoscaler';
const KARPENTER = '/apis/apps/v1/namespaces/kube-system/deployments/karpenter';

function writeConfig(install: string): void {
  writeClusterConfig(workspace, cluster, { manifests: false, extra: `install:\n${install}` });
}
const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace });
const replicasOf = async (path: string) =>
  (await admin.request<{ spec: { replicas: number } }>('GET', path)).spec.replicas;

beforeAll(async () => {
  cluster = await newCluster();
  admin = new KubeHttp(adminKube(cluster));
  workspace = createWorkspace();
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('values the 1.14 chart does not have are errors with their line; nothing is installed', async () => {
  writeConfig(
    '  values:\n    settings:\n      aws:\n        interruptionQueueName: q\n    webhook:\n      enabled: true\n',
  );
  const planned = await run({ command: 'plan' });
  const findings = readPlan(planned.outputs['plan-path']!).stages[0]!.findings;
  expect(findings.map((f) => [f.level, f.code, f.source?.line])).toEqual([
    ['error', 'chart-value-unknown', 11],
    ['error', 'chart-value-unknown', 13],
  ]);
  expect(findings[0]!.message).toBe(
    `install.values.settings.aws: is not a value of the karpenter ${PREVIOUS} chart`,
  );
  expect(findings[0]!.fix).toContain('settings.interruptionQueue');
  expect(planned.stdout).toContain(`::error file=.github/karpenter.yaml,line=11::`);
  const refused = await run({ command: 'apply', 'auto-approve': 'true' });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('nothing was applied');
  await expect(admin.request('GET', KARPENTER)).rejects.toMatchObject({ code: 404 });
});

test(`values the newest chart (${E2E_RELEASES.newest}) refuses together are an error on their line; nothing is installed`, async () => {
  writeClusterConfig(workspace, cluster, {
    version: E2E_RELEASES.newest,
    manifests: false,
    extra:
      'install:\n  values:\n    settings:\n      enableDRA: true\n      awsFeatureGates:\n        draEFA: true\n',
  });
  const planned = await run({ command: 'plan' });
  expect(planned.code).toBe(1);
  const findings = readPlan(planned.outputs['plan-path']!).stages[0]!.findings;
  expect(findings.map((f) => [f.level, f.code, f.source?.line])).toEqual([
    ['error', 'chart-values-refused', 10],
  ]);
  expect(findings[0]!.message).toBe(
    `the karpenter ${E2E_RELEASES.newest} chart refuses install.values: settings.enableDRA is mutually exclusive with settings.awsFeatureGates.draEFA: unset them, or unset settings.enableDRA`,
  );
  const refused = await run({ command: 'apply', 'auto-approve': 'true' });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('nothing was applied');
  await expect(admin.request('GET', KARPENTER)).rejects.toMatchObject({ code: 404 });
});

test('Cluster Autoscaler is scaled to zero and the node group shrunk only once Karpenter is verified', async () => {
  const ng = cluster.nodegroupName;
  writeConfig(
    `  timeoutSeconds: 3\n  migration:\n    enabled: true\n    nodeGroups:\n      ${ng}: {minSize: 2, maxSize: 2, desiredSize: 2}\n`,
  );
  const first = await run({ command: 'plan' });
  expect(first.code).toBe(0);
  const plan = readPlan(first.outputs['plan-path']!);
  const changes = actionable(plan);
  const migration = changes.filter(
    (c) => c.kind === 'Cluster Autoscaler' || c.kind === 'EKS node group scaling',
  );
  expect(migration.map((c) => [c.ref, c.fieldChanges.map((f) => [f.path, f.before, f.after])])).toEqual([
    ['k8s:apps/v1/Deployment/kube-system/cluster-autoscaler#replicas', [['spec.replicas', 1, 0]]],
    [
      `aws:eks:nodegroup/${cluster.name}/${ng}#scaling`,
      expect.arrayContaining([['desiredSize', 3, 2]]) as unknown,
    ],
  ]);
  // the migration changes come after every chart object
  expect(changes.slice(-2)).toEqual(migration);
  const dep = changes.find((c) => c.ref === 'k8s:apps/v1/Deployment/kube-system/karpenter')!.after;
  expect(JSON.stringify(dep)).toContain(
    `{"key":"eks.amazonaws.com/nodegroup","operator":"In","values":["${ng}"]}`,
  );

  // nobody runs the controller: the release is installed, Cluster Autoscaler is left alone
  const unverified = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect(unverified.code).toBe(1);
  expect(unverified.stdout).toContain(
    'Karpenter is not verified after 3 s (the Deployment controller has not seen the latest change yet)',
  );
  expect(await replicasOf(KARPENTER)).toBe(2);
  expect(await replicasOf(CA)).toBe(1);

  // the test plays the Deployment controller: both replicas updated and available
  const live = await admin.request<{ metadata: { generation: number } }>('GET', KARPENTER);
  await admin.request('PATCH', `${KARPENTER}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        observedGeneration: live.metadata.generation,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      },
    },
  });
  const resumed = await run({ command: 'plan' });
  expect(actionable(readPlan(resumed.outputs['plan-path']!)).map((c) => c.kind)).toEqual([
    'Cluster Autoscaler',
    'EKS node group scaling',
  ]);
  const migrated = await run({ command: 'apply', fingerprint: resumed.outputs.fingerprint! });
  expect({ code: migrated.code, out: migrated.code === 0 ? '' : migrated.stdout }).toEqual({
    code: 0,
    out: '',
  });
  expect(await replicasOf(CA)).toBe(0);
  const eks = new EKSClient({ ...awsEnvConfig() });
  const scaling = (
    await eks.send(new DescribeNodegroupCommand({ clusterName: cluster.name, nodegroupName: ng }))
  ).nodegroup?.scalingConfig;
  expect(scaling).toEqual({ minSize: 2, maxSize: 2, desiredSize: 2 });
  const done = readPlan((await run({ command: 'plan' })).outputs['plan-path']!);
  expect(actionable(done)).toEqual([]);
  expect(done.stages[0]!.findings.map((f) => f.code)).not.toContain('controller-zones');

  // the node group's nodes left in one zone: the plan warns that a replica cannot schedule
  for (const n of cluster.nodeNames.slice(1)) await admin.request('DELETE', `/api/v1/nodes/${n}`);
  const oneZone = readPlan((await run({ command: 'plan' })).outputs['plan-path']!).stages[0]!.findings;
  expect(oneZone.filter((f) => f.code === 'controller-zones').map((f) => f.level)).toEqual(['warning']);
});

function awsEnvConfig() {
  const e = awsEnv();
  return {
    region: e.AWS_REGION,
    endpoint: e.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! },
  };
}

test('the verify command reports each check, fails while one does not pass, and passes once it does', async () => {
  writeConfig('  timeoutSeconds: 3\nverify:\n  timeoutSeconds: 2\n');
  const failing = await run({ command: 'verify' });
  expect(failing.code).toBe(1);
  expect(failing.stdout).toContain('verification failed: 1 of 5 checks did not pass');
  const report = readPlan(failing.outputs['verify-path']!);
  expect(report.stages[0]!.findings.map((f) => f.code)).toEqual([
    'verify-passed',
    'verify-timed-out',
    'verify-passed',
    'verify-passed',
    'verify-passed',
  ]);
  expect(report.stages[0]!.findings[1]!.message).toContain('no replica holds the leader lease');
  expect(failing.summary).toContain('leader lease');

  // the test plays the elected controller replica
  await holdLease(admin, 'karpenter-0');
  const passing = await run({ command: 'verify' });
  expect({ code: passing.code, out: passing.code === 0 ? '' : passing.stdout }).toEqual({ code: 0, out: '' });
  expect(
    readPlan(passing.outputs['verify-path']!).stages[0]!.findings.every((f) => f.code === 'verify-passed'),
  ).toBe(true);
});
