/**
 * The install stage plans without Helm's release Secrets: a caller whose RBAC grants everything the
 * install plan reads and dry-runs but no Secret (an impersonated user, through the action's
 * `kubeconfig` input) gets exactly the admin's plan, fingerprint included, and the admin applies that
 * fingerprint. The cluster holds the action's own releases, so Helm's Secrets are there to be missed.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeHttp } from '../../src/adapters/kube-http.ts';
import type { Plan } from '../../src/plan/model.ts';
import { actionable, readPlan, runAction } from '../helpers/run-action.ts';
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
const PLANNER = 'install-planner-without-secrets';
let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;
let adminKubeconfig: string;

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  const kc = adminKube(cluster);
  admin = new KubeHttp(kc);
  workspace = createWorkspace();
  adminKubeconfig = join(workspace, 'admin.kubeconfig');
  writeFileSync(adminKubeconfig, kc.exportConfig(), { mode: 0o600 });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace });

/** Every kind the install stage reads or dry-runs, with no Secret anywhere. */
const RULES = [
  ['', ['namespaces', 'serviceaccounts', 'services', 'configmaps', 'nodes', 'pods', 'events', 'endpoints']],
  ['apps', ['deployments', 'replicasets']],
  ['policy', ['poddisruptionbudgets']],
  ['apiextensions.k8s.io', ['customresourcedefinitions']],
  ['admissionregistration.k8s.io', ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']],
  ['karpenter.sh', ['*']],
  ['karpenter.k8s.aws', ['*']],
  ['autoscaling.x-k8s.io', ['*']],
  ['coordination.k8s.io', ['leases']],
] as const;

async function grantPlannerWithoutSecrets(): Promise<void> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await admin.request('POST', `${rbac}/clusterroles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: PLANNER },
      rules: [
        ...RULES.map(([group, resources]) => ({
          apiGroups: [group],
          resources,
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
        })),
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'escalate', 'bind'],
        },
        {
          apiGroups: ['authorization.k8s.io'],
          resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
          verbs: ['create'],
        },
      ],
    },
  });
  await admin.request('POST', `${rbac}/clusterrolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: PLANNER },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PLANNER },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: PLANNER }],
    },
  });
}

/** The admin's kubeconfig acting as the planner user, which the action takes through its `kubeconfig` input. */
function plannerKubeconfig(): { path: string; kube: KubeHttp } {
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  const user = kc.getCurrentUser()!;
  kc.users = kc.users.map((u) => (u.name === user.name ? { ...u, impersonateUser: PLANNER } : u));
  const path = join(workspace, 'planner.kubeconfig');
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return { path, kube: new KubeHttp(kc) };
}

const comparable = (p: Plan) => ({ ...p, createdAt: '', tool: undefined });

test('a planner that cannot read Secrets plans exactly what the admin plans, and the admin applies that fingerprint', async () => {
  writeClusterConfig(workspace, cluster, { version: '1.13.1', manifests: false });
  const installed = await run({ command: 'plan' });
  const applied = await run({ command: 'apply', fingerprint: installed.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });

  await grantPlannerWithoutSecrets();
  const planner = plannerKubeconfig();
  // the planner is really refused Helm's release Secrets
  const denied = await planner.kube
    .request('GET', '/api/v1/namespaces/kube-system/secrets?labelSelector=owner%3Dhelm')
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(denied).toBeInstanceOf(KubeApiError);
  expect((denied as KubeApiError).code).toBe(403);
  const helmSecrets = await admin.request<{ items: unknown[] }>(
    'GET',
    '/api/v1/namespaces/kube-system/secrets?labelSelector=owner%3Dhelm',
  );
  expect(helmSecrets.items.length).toBeGreaterThanOrEqual(2);

  for (const version of ['1.13.1', '1.14.1']) {
    writeClusterConfig(workspace, cluster, { version, manifests: false });
    const asAdmin = await run({ command: 'plan' });
    const asPlanner = await run({ command: 'plan', kubeconfig: planner.path });
    expect({ code: asPlanner.code, out: asPlanner.code === 0 ? '' : asPlanner.stdout }).toEqual({
      code: 0,
      out: '',
    });
    expect(asPlanner.outputs.fingerprint).toBe(asAdmin.outputs.fingerprint);
    const plannerPlan = readPlan(asPlanner.outputs['plan-path']!);
    expect(comparable(plannerPlan)).toEqual(comparable(readPlan(asAdmin.outputs['plan-path']!)));
    if (version === '1.13.1') expect(actionable(plannerPlan)).toEqual([]);
  }

  // the upgrade the planner planned is applied by the admin on the planner's fingerprint
  const planned = await run({ command: 'plan', kubeconfig: planner.path });
  const upgraded = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect({ code: upgraded.code, out: upgraded.code === 0 ? '' : upgraded.stdout }).toEqual({
    code: 0,
    out: '',
  });
  const list = JSON.parse(
    (
      await exec(join(sandbox().binDir, 'helm'), [
        'list',
        '-A',
        '-o',
        'json',
        '--kubeconfig',
        adminKubeconfig,
      ])
    ).stdout,
  ) as { name: string; chart: string; revision: string }[];
  expect(list.map((r) => [r.name, r.chart, Number(r.revision)]).sort()).toEqual([
    ['karpenter', 'karpenter-1.14.1', 2],
    ['karpenter-crd', 'karpenter-crd-1.14.1', 2],
  ]);
});
