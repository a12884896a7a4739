/**
 * The install stage plans without Helm's release Secrets: a caller whose RBAC grants everything the
 * install plan reads and dry-runs but no Secret (an impersonated user, through the action's
 * `kubeconfig` input) gets exactly the admin's plan, fingerprint included, and the admin applies that
 * fingerprint. The cluster holds the action's own releases, so Helm's Secrets are there to be missed.
 * What only those Secrets know, an interrupted Helm operation, stops the apply before any write. A
 * 1.0 chart, which renders a Secret itself (the webhook certificate), plans the same for both too.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
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

async function grantPlannerWithoutSecrets(target: KubeHttp = admin): Promise<void> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await target.request('POST', `${rbac}/clusterroles`, {
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
  await target.request('POST', `${rbac}/clusterrolebindings`, {
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
}, 600_000);

type SecretObject = {
  metadata: { name: string; labels: Record<string, string> };
  type: string;
  data: { release: string };
};

/** Helm's storage format: the Secret's base64 of base64 of gzip of the release JSON. */
const decodeRelease = (data: string) =>
  JSON.parse(gunzipSync(Buffer.from(Buffer.from(data, 'base64').toString(), 'base64')).toString()) as {
    version: number;
    info: { status: string };
  };
const encodeRelease = (release: unknown) =>
  Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString('base64')).toString('base64');

test('an interrupted helm upgrade, which the plan cannot see, stops the apply before any write', async () => {
  const secrets = '/api/v1/namespaces/kube-system/secrets';
  const deployment = '/apis/apps/v1/namespaces/kube-system/deployments/karpenter';
  const current = (
    await admin.request<{ items: SecretObject[] }>(
      'GET',
      `${secrets}?labelSelector=${encodeURIComponent('owner=helm,name=karpenter,status=deployed')}`,
    )
  ).items[0]!;
  const revision = Number(current.metadata.labels.version);
  // the record a helm upgrade leaves when its runner dies mid-way
  const pending = { ...decodeRelease(current.data.release), version: revision + 1 };
  pending.info.status = 'pending-upgrade';
  await admin.request('POST', secrets, {
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      type: current.type,
      metadata: {
        name: `sh.helm.release.v1.karpenter.v${revision + 1}`,
        labels: { ...current.metadata.labels, status: 'pending-upgrade', version: String(revision + 1) },
      },
      data: { release: encodeRelease(pending) },
    },
  });
  await admin.request('PATCH', deployment, {
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas: 5 } },
  });

  const planner = plannerKubeconfig();
  const planned = await run({ command: 'plan', kubeconfig: planner.path });
  const plan = readPlan(planned.outputs['plan-path']!);
  expect(actionable(plan).map((c) => c.ref)).toEqual([
    'helm:release/kube-system/karpenter',
    'k8s:apps/v1/Deployment/kube-system/karpenter',
  ]);
  expect(plan.stages[0]!.notes.join('\n')).toContain(
    "Helm's release records are not read by the plan (it reads no Secret); apply checks them for kube-system/karpenter before its first write",
  );

  const refused = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(
    `Helm release kube-system/karpenter is pending-upgrade at revision ${revision + 1}: an install, upgrade or rollback was interrupted and Helm refuses another`,
  );
  expect(refused.stdout).toContain(`helm rollback karpenter ${revision} -n kube-system`);
  const dep = await admin.request<{ spec: { replicas: number } }>('GET', deployment);
  expect(dep.spec.replicas).toBe(5);
  const history = JSON.parse(
    (
      await exec(join(sandbox().binDir, 'helm'), [
        'history',
        'karpenter',
        '-n',
        'kube-system',
        '-o',
        'json',
        '--kubeconfig',
        adminKubeconfig,
      ])
    ).stdout,
  ) as { revision: number; status: string }[];
  expect(history.at(-1)).toMatchObject({ revision: revision + 1, status: 'pending-upgrade' });

  // the fix the refusal names; the same approved plan then applies
  await exec(join(sandbox().binDir, 'helm'), [
    'rollback',
    'karpenter',
    String(revision),
    '-n',
    'kube-system',
    '--kubeconfig',
    adminKubeconfig,
  ]);
  await admin.request('PATCH', deployment, {
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas: 5 } },
  });
  const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  expect((await admin.request<{ spec: { replicas: number } }>('GET', deployment)).spec.replicas).toBe(2);
}, 600_000);

test('a 1.0 install, whose chart renders a Secret, plans the same for the planner and the admin', async () => {
  const fresh = await newCluster({ withClusterAutoscaler: false });
  const freshWorkspace = createWorkspace();
  try {
    const freshAdmin = new KubeHttp(adminKube(fresh));
    await grantPlannerWithoutSecrets(freshAdmin);
    const plannerKc = adminKube(fresh);
    const user = plannerKc.getCurrentUser()!;
    plannerKc.users = plannerKc.users.map((u) =>
      u.name === user.name ? { ...u, impersonateUser: PLANNER } : u,
    );
    const plannerPath = join(freshWorkspace, 'planner.kubeconfig');
    writeFileSync(plannerPath, plannerKc.exportConfig(), { mode: 0o600 });
    writeClusterConfig(freshWorkspace, fresh, { version: '1.0.8', manifests: false });
    const runFresh = (inputs: Record<string, string>) =>
      runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace: freshWorkspace });

    const asAdmin = await runFresh({ command: 'plan' });
    const asPlanner = await runFresh({ command: 'plan', kubeconfig: plannerPath });
    expect({ code: asPlanner.code, out: asPlanner.code === 0 ? '' : asPlanner.stdout }).toEqual({
      code: 0,
      out: '',
    });
    expect(asPlanner.outputs.fingerprint).toBe(asAdmin.outputs.fingerprint);
    const plan = readPlan(asPlanner.outputs['plan-path']!);
    expect(comparable(plan)).toEqual(comparable(readPlan(asAdmin.outputs['plan-path']!)));
    expect(actionable(plan).find((c) => c.kind === 'Secret')).toMatchObject({
      ref: 'k8s:v1/Secret/kube-system/karpenter-cert',
      action: 'create',
    });
    // the admin applies the planner's fingerprint; helm creates the Secret with the release
    const applied = await runFresh({ command: 'apply', fingerprint: asPlanner.outputs.fingerprint! });
    expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({
      code: 0,
      out: '',
    });
    const secret = await freshAdmin.request<{ metadata: { annotations: Record<string, string> } }>(
      'GET',
      '/api/v1/namespaces/kube-system/secrets/karpenter-cert',
    );
    expect(secret.metadata.annotations['meta.helm.sh/release-name']).toBe('karpenter');
    const again = await runFresh({ command: 'plan', kubeconfig: plannerPath });
    expect(
      readPlan(again.outputs['plan-path']!).stages[0]!.changes.find((c) => c.kind === 'Secret'),
    ).toMatchObject({
      action: 'no-op',
    });
  } finally {
    await deleteCluster(fresh.name);
    rmSync(freshWorkspace, { recursive: true, force: true });
  }
}, 600_000);
