/**
 * The install stage on clusters that already run Karpenter without the action, through the bundled
 * action with the sandbox's real helm and kubectl: a `helm template | kubectl apply` install is taken
 * over by the action's releases with no NodePool or EC2NodeClass lost; a 0.37-era install is recognised
 * and the plan walks the documented route one apply at a time instead of jumping to 1.x.
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';

const PREVIOUS = E2E_RELEASES.previous;

const exec = promisify(execFile);
const clusters: ClusterInfo[] = [];
let workspace: string;

afterAll(async () => {
  await Promise.all(clusters.map((c) => deleteCluster(c.name)));
  rmSync(workspace, { recursive: true, force: true });
});
beforeAll(() => {
  workspace = createWorkspace();
});

function writeConfig(cluster: ClusterInfo): void {
  writeClusterConfig(workspace, cluster, { manifests: false });
}
const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace });

/** kubectl with the admin kubeconfig, `input` on stdin. */
function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(sandbox().binDir, 'kubectl'), [...args, '--kubeconfig', kubeconfig]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err}`)),
    );
    child.stdin.end(input ?? '');
  });
}

async function setup(): Promise<{ cluster: ClusterInfo; kubeconfig: string; admin: KubeHttp }> {
  const cluster = await newCluster({ withClusterAutoscaler: false });
  clusters.push(cluster);
  const kc = adminKube(cluster);
  const kubeconfig = join(workspace, `${cluster.name}.kubeconfig`);
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  writeConfig(cluster);
  return { cluster, kubeconfig, admin: new KubeHttp(kc) };
}

test('a helm template install is adopted by the releases, and no NodePool or EC2NodeClass is lost', async () => {
  const { cluster, kubeconfig, admin } = await setup();
  const charts = dirname(sandbox().karpenter[PREVIOUS]!.chartDir);
  const helm = join(sandbox().binDir, 'helm');
  // the migration guide's way: render, then kubectl apply
  const crds = (
    await exec(helm, ['template', 'karpenter-crd', join(charts, 'karpenter-crd'), '-n', 'kube-system'])
  ).stdout;
  const controller = (
    await exec(helm, [
      'template',
      'karpenter',
      join(charts, 'karpenter'),
      '-n',
      'kube-system',
      '--set',
      `settings.clusterName=${cluster.name}`,
      '--set',
      `settings.interruptionQueue=${cluster.name}`,
    ])
  ).stdout;
  await kubectl(kubeconfig, ['apply', '-f', '-'], crds);
  await kubectl(kubeconfig, [
    'wait',
    '--for=condition=Established',
    'crd/nodepools.karpenter.sh',
    'crd/ec2nodeclasses.karpenter.k8s.aws',
  ]);
  await kubectl(kubeconfig, ['apply', '-f', '-'], controller);
  await kubectl(
    kubeconfig,
    ['apply', '-f', '-'],
    `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-${cluster.name}
  amiSelectorTerms: [{alias: al2023@v20260101}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: ${cluster.name}}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: ${cluster.name}}}]
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
`,
  );
  const uidOf = async (path: string) =>
    (await admin.request<{ metadata: { uid: string } }>('GET', path)).metadata.uid;
  const pool = await uidOf('/apis/karpenter.sh/v1/nodepools/default');
  const crd = await uidOf('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.karpenter.sh');

  const planned = await run({ command: 'plan' });
  expect({ code: planned.code, out: planned.code === 0 ? '' : planned.stdout }).toEqual({ code: 0, out: '' });
  const plan = readPlan(planned.outputs['plan-path']!);
  const steps = actionable(plan).filter((c) => c.kind === 'Upgrade step');
  expect(steps.length).toBeGreaterThan(0);
  expect(steps.every((c) => c.action === 'update')).toBe(true);
  const covered = steps.flatMap((c) => c.before as string[]);
  expect(covered).toContain('CustomResourceDefinition nodepools.karpenter.sh');
  expect(covered).toContain('Deployment kube-system/karpenter');
  expect(covered).toContain('ServiceAccount kube-system/karpenter');
  expect(actionable(plan).some((c) => c.action === 'delete')).toBe(false);

  const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  const list = JSON.parse(
    (await exec(helm, ['list', '-A', '-o', 'json', '--kubeconfig', kubeconfig])).stdout,
  ) as { name: string; chart: string }[];
  expect(list.map((r) => [r.name, r.chart]).sort()).toEqual([
    ['karpenter', `karpenter-${PREVIOUS}`],
    ['karpenter-crd', `karpenter-crd-${PREVIOUS}`],
  ]);
  expect(await uidOf('/apis/karpenter.sh/v1/nodepools/default')).toBe(pool);
  expect(await uidOf('/apis/karpenter.k8s.aws/v1/ec2nodeclasses/default')).toBeDefined();
  expect(await uidOf('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.karpenter.sh')).toBe(
    crd,
  );
  const again = readPlan((await run({ command: 'plan' })).outputs['plan-path']!);
  expect(actionable(again)).toEqual([]);

  // a webhook configuration left from a 0.3x install is listed and removed
  await kubectl(
    kubeconfig,
    ['apply', '-f', '-'],
    `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: validation.webhook.karpenter.sh
webhooks:
  - name: validation.webhook.karpenter.sh
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    clientConfig: {service: {name: karpenter, namespace: kube-system, port: 8443}}
    rules: [{apiGroups: [karpenter.sh], apiVersions: [v1beta1], operations: [CREATE, UPDATE], resources: [nodepools]}]
`,
  );
  const stale = await run({ command: 'plan' });
  const cleanup = actionable(readPlan(stale.outputs['plan-path']!));
  expect(cleanup.map((c) => [c.ref, c.action])).toEqual([['route:delete-stale-webhooks', 'delete']]);
  expect(cleanup[0]!.before).toEqual(['ValidatingWebhookConfiguration validation.webhook.karpenter.sh']);
  const cleaned = await run({ command: 'apply', fingerprint: stale.outputs.fingerprint! });
  expect(cleaned.code).toBe(0);
  await expect(
    admin.request(
      'GET',
      '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/validation.webhook.karpenter.sh',
    ),
  ).rejects.toMatchObject({ code: 404 });
  expect(actionable(readPlan((await run({ command: 'plan' })).outputs['plan-path']!))).toEqual([]);
});

test('a 0.37 install is recognised and the plan walks the documented route, one apply at a time', async () => {
  const { kubeconfig } = await setup();
  await kubectl(
    kubeconfig,
    ['apply', '-f', '-'],
    `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: nodepools.karpenter.sh
spec:
  group: karpenter.sh
  names: {kind: NodePool, listKind: NodePoolList, plural: nodepools, singular: nodepool}
  scope: Cluster
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: karpenter
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: karpenter
  namespace: karpenter
  labels: {app.kubernetes.io/name: karpenter, app.kubernetes.io/version: 0.37.0}
spec:
  replicas: 2
  selector: {matchLabels: {app.kubernetes.io/name: karpenter}}
  template:
    metadata: {labels: {app.kubernetes.io/name: karpenter}}
    spec:
      containers: [{name: controller, image: 'public.ecr.aws/karpenter/controller:0.37.0'}]
`,
  );
  const planned = await run({ command: 'plan' });
  // published with the route, and failing its step: the first step's chart cannot be had (below)
  expect(planned.code).toBe(1);
  const stage = readPlan(planned.outputs['plan-path']!).stages[0]!;
  const text = stage.notes.join('\n');
  // never a jump: first the latest 0.37 patch with webhooks, then 1.0, then the target
  expect(text).toContain('0.37.7');
  expect(text).toContain('1.0.11');
  expect(text).toMatch(/next plans continue with/);
  expect(text.indexOf('0.37.7')).toBeLessThan(text.indexOf('1.0.11'));
  // the local chart copy has only 1.14.1: the first step cannot run from it, and the plan says so
  expect(stage.findings.filter((f) => f.level === 'error').map((f) => f.code)).toEqual(['chart-unavailable']);
  expect(stage.findings.find((f) => f.code === 'chart-unavailable')!.message).toContain('not 0.37.7');
  const refused = await run({ command: 'apply', 'auto-approve': 'true' });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('nothing was applied');
});

test('an EKS Auto Mode cluster is refused: its shared CRDs are left alone', async () => {
  const cluster = await newCluster({ autoMode: true, withClusterAutoscaler: false });
  clusters.push(cluster);
  writeConfig(cluster);
  const planned = await run({ command: 'plan' });
  const stage = readPlan(planned.outputs['plan-path']!).stages[0]!;
  expect(stage.changes).toEqual([]);
  expect(stage.findings.map((f) => [f.level, f.code])).toEqual([['error', 'eks-auto-mode-install']]);
  expect((await run({ command: 'apply', 'auto-approve': 'true' })).code).toBe(1);
});
