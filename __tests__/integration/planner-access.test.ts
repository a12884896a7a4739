/**
 * The planner objects against the sandbox's real kube-apiserver (1.36, which enforces
 * ValidatingAdmissionPolicy) and Karpenter's real charts: every kind a supported chart renders is a
 * kind the planner may dry-run; the prereqs stage's plan creates the objects, an admin's one-time
 * bootstrap with the action's field manager leaves nothing to change, and a policy someone loosened
 * is shown as drift and put back whole.
 */
import { join } from 'node:path';
import { detectHelm, templateChart } from '../../src/adapters/helm.ts';
import { KubeDiscovery } from '../../src/adapters/kube-discovery.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { FIELD_MANAGER, KubeClient, type KubeObject } from '../../src/adapters/kube.ts';
import { renderPlannerManifests } from '../../src/commands/iam-policy.ts';
import { parseRendered } from '../../src/stages/install.ts';
import {
  applyPlannerAccess,
  buildPlannerObjects,
  PLANNER_ACCESS,
  PLANNER_POLICY,
  planPlannerAccess,
} from '../../src/stages/prereqs/planner-access.ts';
import { parseAllDocuments } from 'yaml';
import { adminKube, deleteCluster, newCluster, sandbox, type ClusterInfo } from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let kube: KubeClient;
beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  kube = new KubeClient(new KubeHttp(adminKube(cluster)));
});
afterAll(async () => {
  await deleteCluster(cluster.name);
});

const POLICY_REF = `k8s:admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy/${PLANNER_POLICY}`;

test('every kind the supported charts render is one the planner may dry-run, except the 1.0 webhook Secret', async () => {
  const helm = await detectHelm(join(sandbox().binDir, 'helm'));
  const discovery = new KubeDiscovery(kube.http);
  const dryRunnable = new Set(
    PLANNER_ACCESS.filter((a) => a.writes?.includes('create') && a.writes.includes('patch')).map(
      (a) => `${a.group}/${a.resource}`,
    ),
  );
  const missing = new Set<string>();
  const versions = Object.values(sandbox().karpenter);
  expect(versions.length).toBeGreaterThan(1);
  for (const release of versions) {
    const rendered = [
      ...parseRendered(
        await templateChart(
          helm,
          { chart: release.crdChartDir },
          { release: 'karpenter-crd', namespace: 'kube-system' },
        ),
      ),
      ...parseRendered(
        await templateChart(
          helm,
          { chart: release.chartDir },
          {
            release: 'karpenter',
            namespace: 'kube-system',
            values: { settings: { clusterName: cluster.name }, serviceMonitor: { enabled: true } },
          },
        ),
      ),
    ];
    for (const o of rendered) {
      const res = await discovery.resolve(String(o.apiVersion), String(o.kind));
      const group = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0]! : '';
      const key = `${group}/${res?.plural ?? `${String(o.kind).toLowerCase()}s`}`;
      if (!dryRunnable.has(key)) missing.add(`${key} ${release.version} ${String(o.metadata?.name)}`);
    }
  }
  // The planner reads no Secret; the 1.0 chart's webhook certificate Secret is planned without reading it.
  expect([...missing]).toEqual(
    versions.filter((r) => r.version.startsWith('1.0.')).map((r) => `/secrets ${r.version} karpenter-cert`),
  );
});

test('planned, applied by an admin, then nothing to change; a loosened policy is drift and is put back whole', async () => {
  const first = await planPlannerAccess(kube, { cluster: cluster.name, kubernetesVersion: '1.36' });
  expect(first.findings).toEqual([]);
  expect(first.changes.map((c) => [c.kind, c.action])).toEqual([
    ['ValidatingAdmissionPolicy', 'create'],
    ['ValidatingAdmissionPolicyBinding', 'create'],
    ['ClusterRole', 'create'],
    ['ClusterRoleBinding', 'create'],
  ]);
  for (const c of first.changes)
    expect(await applyPlannerAccess(kube, first, c)).toMatchObject({ outcome: 'done' });
  const second = await planPlannerAccess(kube, { cluster: cluster.name });
  expect(second.changes.map((c) => c.action)).toEqual(['no-op', 'no-op', 'no-op', 'no-op']);

  // someone switches the policy off with a match condition that never holds
  const live = await kube.http.request<KubeObject>(
    'GET',
    `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${PLANNER_POLICY}`,
  );
  const spec = live.spec as { matchConditions: { name: string; expression: string }[] };
  await kube.http.request(
    'PATCH',
    `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${PLANNER_POLICY}`,
    {
      query: { fieldManager: 'someone-else' },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: PLANNER_POLICY },
        spec: { matchConditions: [...spec.matchConditions, { name: 'never', expression: 'false' }] },
      },
    },
  );
  const drifted = await planPlannerAccess(kube, { cluster: cluster.name });
  const change = drifted.changes.find((c) => c.ref === POLICY_REF)!;
  expect(change.action).toBe('update');
  expect(change.fieldChanges.map((f) => f.path)).toEqual(['spec.matchConditions']);
  expect(drifted.findings.map((f) => f.code)).toEqual(['planner-unfenced']);
  expect(drifted.findings[0]!.message).toMatch(/the plan role may be able to write/);

  await applyPlannerAccess(kube, drifted, change);
  const repaired = await planPlannerAccess(kube, { cluster: cluster.name });
  expect(repaired.changes.map((c) => c.action)).toEqual(['no-op', 'no-op', 'no-op', 'no-op']);
  const after = await kube.http.request<KubeObject>(
    'GET',
    `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${PLANNER_POLICY}`,
  );
  expect((after.spec as typeof spec).matchConditions.map((m) => m.name)).toEqual(['planner-group']);
});

test("an admin's one-time bootstrap from iam-policy's manifests is what the action would apply: no change", async () => {
  const other = await newCluster({ withClusterAutoscaler: false });
  try {
    const k = new KubeClient(new KubeHttp(adminKube(other)));
    const docs = parseAllDocuments(renderPlannerManifests()).map((d) => d.toJS() as KubeObject);
    expect(docs).toEqual(buildPlannerObjects(true));
    // kubectl apply --server-side --field-manager=karpenter-action, object by object
    const plurals: Record<string, string> = {
      ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
      ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
      ClusterRole: 'clusterroles',
      ClusterRoleBinding: 'clusterrolebindings',
    };
    for (const o of docs)
      await k.http.request(
        'PATCH',
        `/apis/${String(o.apiVersion)}/${plurals[String(o.kind)]!}/${String(o.metadata?.name)}`,
        {
          query: { fieldManager: FIELD_MANAGER },
          contentType: 'application/apply-patch+yaml',
          body: o,
        },
      );
    const plan = await planPlannerAccess(k, { cluster: other.name });
    expect(plan.changes.map((c) => [c.kind, c.action])).toEqual([
      ['ValidatingAdmissionPolicy', 'no-op'],
      ['ValidatingAdmissionPolicyBinding', 'no-op'],
      ['ClusterRole', 'no-op'],
      ['ClusterRoleBinding', 'no-op'],
    ]);
    expect(plan.findings).toEqual([]);
  } finally {
    await deleteCluster(other.name);
  }
});
