/**
 * NodeOverlays (karpenter.sh/v1alpha1) through the bundled action, on the newest release's CRDs: the
 * pools stage plans, applies, drift-checks and prunes them like NodePools, applies them between the
 * EC2NodeClasses and the NodePools, says that they replace no node, and warns while the install values
 * leave the NodeOverlay feature gate off. The NodePool leaves `consolidateAfter` out, which the newest
 * CRD defaults, so the second plan shows that server defaults are not drift.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import type { Change, Plan } from '../../src/plan/model.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { readPlan, runAction, type ActionRun } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  deleteCluster,
  E2E_RELEASES,
  installKarpenterCrds,
  localChartRepository,
  newCluster,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

const NEWEST = E2E_RELEASES.newest;
let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;

const overlay = (adjustment: string) => `apiVersion: karpenter.sh/v1alpha1
kind: NodeOverlay
metadata:
  name: savings-plan
spec:
  requirements:
    - key: karpenter.k8s.aws/instance-family
      operator: In
      values: ['m5', 'm6i']
  priceAdjustment: "${adjustment}"
  weight: 10
`;

function writeConfig(opts: { version?: string; extra?: string } = {}): void {
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: us-east-1
karpenter:
  version: ${opts.version ?? NEWEST}
  chartRepository: ${localChartRepository(NEWEST)}
manifests:
  - ../karpenter/*.yaml
${opts.extra ?? ''}`,
  );
}
const run = (inputs: Record<string, string>): Promise<ActionRun> =>
  runAction({ inputs: { stages: 'pools', ...inputs }, env: actionEnv(), workspace });
const poolsOf = (r: ActionRun): Plan['stages'][number] => readPlan(r.outputs['plan-path']!).stages[0]!;
const moving = (r: ActionRun): Change[] => poolsOf(r).changes.filter((c) => c.action !== 'no-op');
const GATE_ON = 'install:\n  values:\n    settings:\n      featureGates:\n        nodeOverlay: true\n';

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster, NEWEST);
  admin = new KubeHttp(adminKube(cluster));
  workspace = mkdtempSync(join(tmpdir(), 'ka-ws-'));
  mkdirSync(join(workspace, '.github'), { recursive: true });
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  writeFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), NODEPOOL);
  writeFileSync(join(workspace, 'karpenter', 'nodeclass.yaml'), NODECLASS);
  writeFileSync(join(workspace, 'karpenter', 'overlay.yaml'), overlay('-10%'));
  writeConfig();
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('a NodeOverlay is planned between the EC2NodeClass and the NodePool, replaces no node, and the plan warns while its gate is off', async () => {
  const first = await run({ command: 'plan' });
  expect(first.code).toBe(0);
  expect(moving(first).map((c) => [c.ref, c.action])).toEqual([
    ['k8s:karpenter.k8s.aws/v1/EC2NodeClass/default', 'create'],
    ['k8s:karpenter.sh/v1alpha1/NodeOverlay/savings-plan', 'create'],
    ['k8s:karpenter.sh/v1/NodePool/default', 'create'],
  ]);
  const created = moving(first)[1]!;
  // the server's dry-run validated the overlay and kept the adjustment
  expect((created.after as { spec: { priceAdjustment: string } }).spec.priceAdjustment).toBe('-10%');
  const gate = poolsOf(first).findings.filter((f) => f.code === 'nodeoverlay-gate-off');
  expect(gate.map((f) => [f.level, f.source?.file])).toEqual([['warning', 'karpenter/overlay.yaml']]);
  expect(gate[0]!.fix).toContain('install.values.settings.featureGates.nodeOverlay: true');

  writeConfig({ extra: GATE_ON });
  const gated = await run({ command: 'plan' });
  expect(gated.code).toBe(0);
  expect(poolsOf(gated).findings.filter((f) => f.code === 'nodeoverlay-gate-off')).toEqual([]);

  const applied = await run({ command: 'apply', fingerprint: gated.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  const live = await admin.request<{ spec: { priceAdjustment: string; weight: number } }>(
    'GET',
    '/apis/karpenter.sh/v1alpha1/nodeoverlays/savings-plan',
  );
  expect(live.spec).toMatchObject({ priceAdjustment: '-10%', weight: 10 });

  // the NodePool left consolidateAfter to the CRD's default: the server's defaults are no drift
  const again = await run({ command: 'plan' });
  expect(moving(again)).toEqual([]);
  expect(again.outputs['has-changes']).toBe('false');
});

test('a changed NodeOverlay is an update; a hand edit is drift; a removed one is pruned only with pruning on', async () => {
  writeConfig({ extra: GATE_ON });
  writeFileSync(join(workspace, 'karpenter', 'overlay.yaml'), overlay('-20%'));
  const changed = await run({ command: 'plan' });
  expect(moving(changed).map((c) => [c.ref, c.action, c.fieldChanges])).toEqual([
    [
      'k8s:karpenter.sh/v1alpha1/NodeOverlay/savings-plan',
      'update',
      [{ path: 'spec.priceAdjustment', op: 'change', before: '-10%', after: '-20%' }],
    ],
  ]);
  expect(moving(changed)[0]!.impact).toMatchObject({ replacesNodes: false });
  expect(moving(changed)[0]!.impact?.detail).toContain('No node is drifted');
  const applied = await run({ command: 'apply', fingerprint: changed.outputs.fingerprint! });
  expect(applied.code).toBe(0);

  // someone edits the overlay in the cluster: the drift check names exactly that field
  await admin.request('PATCH', '/apis/karpenter.sh/v1alpha1/nodeoverlays/savings-plan', {
    contentType: 'application/merge-patch+json',
    body: { spec: { weight: 99 } },
  });
  const drifted = await run({ command: 'plan' });
  expect(moving(drifted).map((c) => c.fieldChanges)).toEqual([
    [{ path: 'spec.weight', op: 'change', before: 99, after: 10 }],
  ]);
  expect((await run({ command: 'apply', fingerprint: drifted.outputs.fingerprint! })).code).toBe(0);

  unlinkSync(join(workspace, 'karpenter', 'overlay.yaml'));
  const kept = await run({ command: 'plan' });
  expect(poolsOf(kept).changes.find((c) => c.kind === 'NodeOverlay')).toMatchObject({
    action: 'no-op',
    reason: 'left alone: its manifest was removed, and pruning is disabled (pools.prune)',
  });
  writeConfig({ extra: `${GATE_ON}pools:\n  prune: true\n` });
  const prune = await run({ command: 'plan' });
  expect(moving(prune).map((c) => [c.ref, c.action, c.impact?.replacesNodes])).toEqual([
    ['k8s:karpenter.sh/v1alpha1/NodeOverlay/savings-plan', 'delete', false],
  ]);
  expect((await run({ command: 'apply', fingerprint: prune.outputs.fingerprint! })).code).toBe(0);
  const gone = await admin
    .request('GET', '/apis/karpenter.sh/v1alpha1/nodeoverlays/savings-plan')
    .catch((e: unknown) => e);
  expect((gone as { code?: number }).code).toBe(404);
});

test('a release without the NodeOverlay CRD is an error naming the manifest, and nothing is applied', async () => {
  writeFileSync(join(workspace, 'karpenter', 'overlay.yaml'), overlay('-10%'));
  writeConfig({ version: '1.6.0', extra: GATE_ON });
  const r = await run({ command: 'plan' });
  // a plan with an error fails the step, after publishing itself
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('has 1 error; it cannot be applied until it is fixed');
  const errors = poolsOf(r).findings.filter((f) => f.level === 'error');
  expect(errors.map((f) => [f.code, f.source?.file])).toEqual([
    ['nodeoverlay-unsupported', 'karpenter/overlay.yaml'],
  ]);
  expect(errors[0]!.message).toContain('Karpenter 1.6.0 ships no NodeOverlay CRD');
  expect(r.stdout).toContain('::error file=karpenter/overlay.yaml');
  // the plan with an error cannot be applied: the overlay is not created
  const applied = await run({ command: 'apply', fingerprint: r.outputs.fingerprint! });
  expect(applied.code).not.toBe(0);
  const none = await admin
    .request('GET', '/apis/karpenter.sh/v1alpha1/nodeoverlays/savings-plan')
    .catch((e: unknown) => e);
  expect((none as { code?: number }).code).toBe(404);
  unlinkSync(join(workspace, 'karpenter', 'overlay.yaml'));
});
