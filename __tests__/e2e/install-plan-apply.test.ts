/**
 * The install stage end to end through the bundled action with the sandbox's real helm and Karpenter's
 * real charts (local copies of the public releases): a fresh install of 1.13.1 (CRDs through their own
 * release, then the controller), an empty re-plan, a hand edit of the controller Deployment shown as
 * drift, the upgrade to 1.14.1 with CRDs updated before the controller, and `helm rollback` working on
 * what the action installed. Karpenter's controller does not run in the sandbox; nothing here needs it.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';

const exec = promisify(execFile);
let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;
let kubeconfigFile: string;

function writeConfig(version: string, extra = ''): void {
  writeClusterConfig(workspace, cluster, { version, manifests: false, extra });
}
const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace });
const helm = async (...args: string[]) =>
  (await exec(join(sandbox().binDir, 'helm'), [...args, '--kubeconfig', kubeconfigFile])).stdout;
const helmList = async () =>
  (JSON.parse(await helm('list', '-A', '-o', 'json')) as { name: string; chart: string; revision: string }[])
    .map((r) => [r.name, r.chart, Number(r.revision)])
    .sort();

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  const kc = adminKube(cluster);
  admin = new KubeHttp(kc);
  workspace = createWorkspace();
  kubeconfigFile = join(workspace, 'admin.kubeconfig');
  writeFileSync(kubeconfigFile, kc.exportConfig(), { mode: 0o600 });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('install 1.13.1, drift, upgrade to 1.14.1, rollback', async () => {
  writeConfig('1.13.1', 'install:\n  resources:\n    requests: {cpu: 1, memory: 1Gi}\n');
  const first = await run({ command: 'plan' });
  expect({ code: first.code, out: first.code === 0 ? '' : first.stdout }).toEqual({ code: 0, out: '' });
  const plan1 = readPlan(first.outputs['plan-path']!);
  const creates = actionable(plan1);
  expect(creates.every((c) => c.action === 'create')).toBe(true);
  const refs = creates.map((c) => c.ref);
  // the CRD release and its CRDs come first, then the controller release
  expect(refs.slice(0, 5)).toEqual([
    'helm:release/kube-system/karpenter-crd',
    ...[
      'ec2nodeclasses.karpenter.k8s.aws',
      'nodeclaims.karpenter.sh',
      'nodeoverlays.karpenter.sh',
      'nodepools.karpenter.sh',
    ].map((n) => `k8s:apiextensions.k8s.io/v1/CustomResourceDefinition/${n}`),
  ]);
  expect(refs[5]).toBe('helm:release/kube-system/karpenter');
  expect(refs).toContain('helm:release/kube-system/karpenter');
  expect(refs).toContain('k8s:apps/v1/Deployment/kube-system/karpenter');
  const deployment = creates.find((c) => c.ref === 'k8s:apps/v1/Deployment/kube-system/karpenter')!.after as {
    spec: {
      template: {
        spec: {
          affinity: { nodeAffinity: unknown };
          containers: { image: string; env: { name: string; value?: string }[]; resources: unknown }[];
        };
      };
    };
  };
  const pod = deployment.spec.template.spec;
  expect(pod.containers[0]!.image).toContain('controller:1.13.1');
  expect(pod.containers[0]!.env).toContainEqual({ name: 'CLUSTER_NAME', value: cluster.name });
  expect(pod.containers[0]!.env).toContainEqual({ name: 'INTERRUPTION_QUEUE', value: cluster.name });
  expect(pod.containers[0]!.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' } });
  expect(JSON.stringify(pod.affinity.nodeAffinity)).toContain(
    '"key":"karpenter.sh/nodepool","operator":"DoesNotExist"',
  );

  const applied = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  expect(await helmList()).toEqual([
    ['karpenter', 'karpenter-1.13.1', 1],
    ['karpenter-crd', 'karpenter-crd-1.13.1', 1],
  ]);
  const again = await run({ command: 'plan' });
  expect(actionable(readPlan(again.outputs['plan-path']!)).map((c) => [c.ref, c.fieldChanges])).toEqual([]);

  // a hand edit, as `kubectl scale deployment karpenter --replicas 5` would make it
  await admin.request('PATCH', '/apis/apps/v1/namespaces/kube-system/deployments/karpenter', {
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas: 5 } },
  });
  const drifted = readPlan((await run({ command: 'plan' })).outputs['plan-path']!);
  const drift = actionable(drifted);
  expect(drift.map((c) => c.ref)).toEqual([
    'helm:release/kube-system/karpenter',
    'k8s:apps/v1/Deployment/kube-system/karpenter',
  ]);
  expect(drift[1]!.fieldChanges).toEqual([{ path: 'spec.replicas', op: 'change', before: 5, after: 2 }]);

  // the upgrade: both releases move, CRDs first
  writeConfig('1.14.1', 'install:\n  resources:\n    requests: {cpu: 1, memory: 1Gi}\n');
  const up = await run({ command: 'plan' });
  const upPlan = readPlan(up.outputs['plan-path']!);
  const releases = actionable(upPlan).filter((c) => c.kind === 'Helm release');
  // the CRD chart labels no object with its version, so only the controller release's is known
  const digest: unknown = expect.stringMatching(/^sha256:[0-9a-f]{64}$/);
  expect(releases.map((c) => [c.ref, c.before, c.after])).toEqual([
    [
      'helm:release/kube-system/karpenter-crd',
      { chart: 'karpenter-crd' },
      { chart: 'karpenter-crd', version: '1.14.1', digest },
    ],
    [
      'helm:release/kube-system/karpenter',
      { chart: 'karpenter', version: '1.13.1' },
      { chart: 'karpenter', version: '1.14.1', digest },
    ],
  ]);
  const upgraded = await run({ command: 'apply', fingerprint: up.outputs.fingerprint! });
  expect({ code: upgraded.code, out: upgraded.code === 0 ? '' : upgraded.stdout }).toEqual({
    code: 0,
    out: '',
  });
  expect(await helmList()).toEqual([
    ['karpenter', 'karpenter-1.14.1', 2],
    ['karpenter-crd', 'karpenter-crd-1.14.1', 2],
  ]);
  type Crd = { spec: { versions: { name: string; schema: unknown }[] } };
  const crd = await admin.request<Crd>(
    'GET',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.karpenter.sh',
  );
  const released = (v: string) =>
    parse(readFileSync(join(sandbox().karpenter[v]!.crdsDir, 'karpenter.sh_nodepools.yaml'), 'utf8')) as Crd;
  expect(JSON.stringify(released('1.14.1').spec.versions)).not.toBe(
    JSON.stringify(released('1.13.1').spec.versions),
  );
  expect(crd.spec.versions.map((v) => v.schema)).toEqual(
    released('1.14.1').spec.versions.map((v) => v.schema),
  );
  const dep = await admin.request<{ spec: { replicas: number } }>(
    'GET',
    '/apis/apps/v1/namespaces/kube-system/deployments/karpenter',
  );
  expect(dep.spec.replicas).toBe(2);
  expect(actionable(readPlan((await run({ command: 'plan' })).outputs['plan-path']!))).toEqual([]);

  // helm rollback works on the action's releases
  await helm('rollback', 'karpenter', '1', '-n', 'kube-system');
  const rolled = await admin.request<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
    'GET',
    '/apis/apps/v1/namespaces/kube-system/deployments/karpenter',
  );
  expect(rolled.spec.template.spec.containers[0]!.image).toContain('controller:1.13.1');
});
