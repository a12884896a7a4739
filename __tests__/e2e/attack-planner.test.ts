/**
 * Attack: a pull request adds a workflow step that assumes the plan role (a `pull_request` run uses
 * the workflow file of the PR's own branch, and the plan role trusts those runs) and tries to change
 * the cluster without review. The roles are set up exactly as `iam-policy` prints them and the planner
 * objects bootstrapped; every step below is what such a step could send with the plan role's session,
 * and each asserts the refusal the attacker reads and that nothing changed.
 */
import { rmSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeApiError } from '../../src/adapters/kube-http.ts';
import { CONFIGMAPS, DEPLOYMENTS, SECRETS } from '../../src/adapters/kube-resources.ts';
import type { KubeClient, KubeObject, KubeResource } from '../../src/adapters/kube.ts';
import { NODEPOOL as NODEPOOL_RESOURCE } from '../../src/stages/pools.ts';
import {
  buildPlannerClusterRole,
  PLANNER_GROUP,
  PLANNER_POLICY,
  PLANNER_ROLE,
} from '../../src/stages/prereqs/planner-access.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { oidcEnv, startOidcStandIn, type OidcStandIn } from '../helpers/oidc-standin.ts';
import {
  bootstrapPlanner,
  createRolesFromIamPolicy,
  idTokenFrom,
  planRoleKube,
  type TrustModelRoles,
} from '../helpers/planner.ts';
import { runAction } from '../helpers/run-action.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient as Client } from '../../src/adapters/kube.ts';
import {
  adminKube,
  deleteCluster,
  installKarpenterCrds,
  useAwsEnv,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

const CLUSTER_ROLES: KubeResource = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  plural: 'clusterroles',
  kind: 'ClusterRole',
  namespaced: false,
};
const CLUSTER_ROLE_BINDINGS: KubeResource = {
  ...CLUSTER_ROLES,
  plural: 'clusterrolebindings',
  kind: 'ClusterRoleBinding',
};
const POLICIES: KubeResource = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'validatingadmissionpolicies',
  kind: 'ValidatingAdmissionPolicy',
  namespaced: false,
};
const POLICY_BINDINGS: KubeResource = {
  ...POLICIES,
  plural: 'validatingadmissionpolicybindings',
  kind: 'ValidatingAdmissionPolicyBinding',
};

let cluster: ClusterInfo;
let workspace: string;
let runnerEnv: Record<string, string>;
let roles: TrustModelRoles;
let oidc: OidcStandIn;
let attacker: KubeClient;
let admin: KubeClient;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  const made = await newAccountCluster();
  cluster = made.cluster;
  runnerEnv = Object.fromEntries(
    Object.entries(made.env).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(k),
    ),
  );
  await installKarpenterCrds(cluster);
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeClusterConfig(workspace, cluster);
  roles = await createRolesFromIamPolicy(workspace, cluster, made.account, made.env);
  await bootstrapPlanner(cluster, roles.document);
  oidc = await startOidcStandIn({ sub: 'repo:acme/infra:pull_request' });
  attacker = await planRoleKube(cluster, roles.plan, idTokenFrom(oidc));
  admin = new Client(new KubeHttp(adminKube(cluster)));
}, 300_000);
afterAll(async () => {
  await oidc.close();
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
  restoreEnv();
});

const refusal = async (p: Promise<unknown>): Promise<KubeApiError> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KubeApiError);
  return e as KubeApiError;
};
/** A GET with the attacker's credentials and impersonation headers; the client the action ships never sends them. */
async function impersonate(kube: KubeClient, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(`${kube.http.server}${path}`);
  const opts: RequestOptions = { method: 'GET', headers: {} };
  await kube.http.kubeConfig.applyToHTTPSOptions(opts);
  opts.headers = { ...opts.headers, 'Impersonate-User': 'admin', 'Impersonate-Group': 'system:masters' };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { ...opts, hostname: url.hostname, port: url.port, path: url.pathname },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const POLICY_DENIAL = `ValidatingAdmissionPolicy '${PLANNER_POLICY}' with binding '${PLANNER_POLICY}' denied request: ${PLANNER_POLICY}: the karpenter-action plan role is read-only and may only dry-run; writes go through the apply role after a reviewed plan is approved`;

test('the session is the plan role, in the planner group only', async () => {
  const who = await attacker.http.request<{ status: { userInfo: { groups: string[] } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
  );
  expect(who.status.userInfo.groups.filter((g) => g !== 'system:authenticated')).toEqual([PLANNER_GROUP]);
});

test('creating or changing workloads and pools is refused by the policy, by name; nothing is stored', async () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'miner', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { app: 'miner' } },
      template: {
        metadata: { labels: { app: 'miner' } },
        spec: { containers: [{ name: 'm', image: 'evil' }] },
      },
    },
  };
  const created = await refusal(attacker.apply(DEPLOYMENTS, deployment, { dryRun: false }));
  expect(created.code).toBe(403);
  expect(created.message).toContain(POLICY_DENIAL);
  // a plain POST is no different from server-side apply
  const posted = await refusal(attacker.create(DEPLOYMENTS, deployment));
  expect(posted.message).toContain(POLICY_DENIAL);
  expect(await admin.get(DEPLOYMENTS, 'miner', 'kube-system')).toBeUndefined();

  const pool = {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'gpu-farm' },
    spec: {
      template: {
        spec: {
          requirements: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }],
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
        },
      },
    },
  };
  expect((await refusal(attacker.apply(NODEPOOL_RESOURCE, pool, { dryRun: false }))).message).toContain(
    POLICY_DENIAL,
  );
  expect(await admin.get(NODEPOOL_RESOURCE, 'gpu-farm')).toBeUndefined();
});

test('escalating through RBAC is refused: its own role, a new role, a binding to cluster-admin', async () => {
  const before = await admin.get(CLUSTER_ROLES, PLANNER_ROLE);
  const widened = {
    ...buildPlannerClusterRole(true),
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  };
  // escalate lets the dry-run through (that is what plans of the chart's RBAC need) ...
  await expect(attacker.apply(CLUSTER_ROLES, widened, { dryRun: true })).resolves.toMatchObject({
    kind: 'ClusterRole',
  });
  // ... and the policy stops the real request
  expect((await refusal(attacker.apply(CLUSTER_ROLES, widened, { dryRun: false }))).message).toContain(
    POLICY_DENIAL,
  );
  expect((await admin.get(CLUSTER_ROLES, PLANNER_ROLE))?.rules).toEqual(before?.rules);

  const own = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'pr-admin' },
    rules: widened.rules,
  };
  expect((await refusal(attacker.apply(CLUSTER_ROLES, own, { dryRun: false }))).message).toContain(
    POLICY_DENIAL,
  );
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'pr-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: PLANNER_GROUP }],
  };
  expect(
    (await refusal(attacker.apply(CLUSTER_ROLE_BINDINGS, binding, { dryRun: false }))).message,
  ).toContain(POLICY_DENIAL);
  expect(await admin.get(CLUSTER_ROLES, 'pr-admin')).toBeUndefined();
  expect(await admin.get(CLUSTER_ROLE_BINDINGS, 'pr-admin')).toBeUndefined();
});

test('the policy cannot be removed or loosened (policies are not subject to policies, so no verb is granted)', async () => {
  for (const res of [POLICIES, POLICY_BINDINGS]) {
    const del = await refusal(attacker.delete(res, PLANNER_POLICY, {}));
    expect(del.code).toBe(403);
    expect(del.message).toMatch(new RegExp(`cannot delete resource "${res.plural}"`));
    const patch = await refusal(
      attacker.http.request(
        'PATCH',
        `/apis/admissionregistration.k8s.io/v1/${res.plural}/${PLANNER_POLICY}`,
        {
          contentType: 'application/merge-patch+json',
          body: { spec: { validationActions: ['Audit'] } },
        },
      ),
    );
    expect(patch.code).toBe(403);
    expect(patch.message).toMatch(new RegExp(`cannot patch resource "${res.plural}"`));
    const dryDelete = await refusal(attacker.delete(res, PLANNER_POLICY, { dryRun: true }));
    expect(dryDelete.code).toBe(403);
  }
  const other = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'audit-only' },
    spec: { policyName: PLANNER_POLICY, validationActions: ['Audit'] },
  };
  expect((await refusal(attacker.apply(POLICY_BINDINGS, other, { dryRun: false }))).code).toBe(403);
  expect(await admin.get(POLICIES, PLANNER_POLICY)).toBeDefined();
  expect((await admin.get(POLICY_BINDINGS, PLANNER_POLICY))?.spec).toEqual({
    policyName: PLANNER_POLICY,
    validationActions: ['Deny'],
  });
});

test('no Secret, no exec, no token, no impersonation, no aws-auth edit', async () => {
  expect((await refusal(attacker.list(SECRETS))).message).toMatch(/cannot list resource "secrets"/);
  // a dry-run returns the object it would write, so even that is closed for Secrets
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'kube-system' } };
  expect((await refusal(attacker.apply(SECRETS, secret, { dryRun: true }))).code).toBe(403);
  expect(
    (
      await refusal(
        attacker.http.request('POST', '/api/v1/namespaces/kube-system/serviceaccounts/karpenter/token', {
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
        }),
      )
    ).code,
  ).toBe(403);
  expect(
    (
      await refusal(
        attacker.http.request('POST', '/api/v1/namespaces/kube-system/pods/any/exec', {
          query: { command: 'sh' },
        }),
      )
    ).code,
  ).toBe(403);
  // the same session with impersonation headers, as kubectl --as=admin --as-group=system:masters sends them
  const impersonated = await impersonate(attacker, '/api/v1/namespaces/kube-system/secrets');
  expect(impersonated.status).toBe(403);
  expect(impersonated.body).toMatch(/cannot impersonate/);
  const awsAuth = await admin.get(CONFIGMAPS, 'aws-auth', 'kube-system');
  const edit = await refusal(
    attacker.http.request('PATCH', '/api/v1/namespaces/kube-system/configmaps/aws-auth', {
      contentType: 'application/merge-patch+json',
      body: { data: { mapRoles: `- rolearn: ${roles.plan}\n  groups: [system:masters]\n` } },
    }),
  );
  expect(edit.code).toBe(403);
  expect((await admin.get(CONFIGMAPS, 'aws-auth', 'kube-system'))?.data).toEqual(awsAuth?.data);
});

test('the action itself, run with the plan role and auto-approve, applies nothing', async () => {
  const r = await runAction({
    inputs: {
      command: 'apply',
      stages: 'pools',
      comment: 'false',
      'auto-approve': 'true',
      'role-to-assume': roles.plan,
    },
    env: { ...runnerEnv, ...oidcEnv(oidc) },
    workspace,
  });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain(
    `::error::this run's identity "arn:aws:sts::${cluster.accountId}:assumed-role/${roles.document.plan!.roleName}/karpenter-action" is the read-only plan role (group ${PLANNER_GROUP}): it may plan, never apply; nothing was changed`,
  );
  expect(r.stdout).toContain('apply with the apply role (role-to-assume), from the protected environment');
  expect(await admin.list(NODEPOOL_RESOURCE)).toEqual([]);
}, 300_000);
