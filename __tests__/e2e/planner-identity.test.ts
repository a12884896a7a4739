/**
 * The trust model's plan identity end to end: the two roles are created exactly as `iam-policy
 * --format json` prints them (IAM roles, trust and permission policies, the access entries from its aws
 * CLI lines), the planner objects bootstrapped once as its text says, and the bundled action run with
 * `role-to-assume` through the OIDC stand-in, as a runner does. The plan role plans every stage and gets
 * the admin's plan; it cannot read a Secret or write without a dry-run; the apply role applies, and the
 * plan role's next plan is empty.
 */
import { rmSync } from 'node:fs';
import { KubeApiError } from '../../src/adapters/kube-http.ts';
import { DEPLOYMENTS, SECRETS } from '../../src/adapters/kube-resources.ts';
import type { KubeClient } from '../../src/adapters/kube.ts';
import { PLANNER_GROUP, PLANNER_POLICY } from '../../src/stages/prereqs/planner-access.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { oidcEnv, startOidcStandIn, type OidcStandIn } from '../helpers/oidc-standin.ts';
import {
  bootstrapPlanner,
  createRolesFromIamPolicy,
  idTokenFrom,
  planRoleKube,
  type TrustModelRoles,
} from '../helpers/planner.ts';
import { actionable, readPlan, runAction, type ActionRun } from '../helpers/run-action.ts';
import { deleteCluster, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

const STAGES = 'prereqs,install,pools';
let cluster: ClusterInfo;
let adminEnv: Record<string, string>;
let runnerEnv: Record<string, string>;
let workspace: string;
let roles: TrustModelRoles;
let planOidc: OidcStandIn;
let applyOidc: OidcStandIn;
let planner: KubeClient;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  const made = await newAccountCluster();
  cluster = made.cluster;
  adminEnv = made.env;
  // a runner step with role-to-assume has no ambient AWS credentials
  runnerEnv = Object.fromEntries(
    Object.entries(adminEnv).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(k),
    ),
  );
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeClusterConfig(workspace, cluster);
  roles = await createRolesFromIamPolicy(workspace, cluster, made.account, adminEnv);
  await bootstrapPlanner(cluster, roles.document);
  planOidc = await startOidcStandIn({ sub: 'repo:acme/infra:pull_request' });
  applyOidc = await startOidcStandIn({
    sub: 'repo:acme/infra:environment:karpenter-apply',
    claims: { environment: 'karpenter-apply' },
  });
  planner = await planRoleKube(cluster, roles.plan, idTokenFrom(planOidc));
}, 300_000);
afterAll(async () => {
  await planOidc.close();
  await applyOidc.close();
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
  restoreEnv();
});

const asPlanRole = (inputs: Record<string, string>): Promise<ActionRun> =>
  runAction({
    inputs: { stages: STAGES, comment: 'false', 'role-to-assume': roles.plan, ...inputs },
    env: { ...runnerEnv, ...oidcEnv(planOidc) },
    workspace,
  });
const asAdmin = (inputs: Record<string, string>): Promise<ActionRun> =>
  runAction({ inputs: { stages: STAGES, comment: 'false', ...inputs }, env: adminEnv, workspace });
const ok = (r: ActionRun) => ({ code: r.code, out: r.code === 0 ? '' : r.stdout });

test('the plan role is set up as iam-policy prints it: the planner group, no access policy', () => {
  expect(roles.document.kubernetes.commands.filter((c) => c.includes(roles.plan))).toEqual([
    `aws eks create-access-entry --cluster-name ${cluster.name} --region ${cluster.region} --principal-arn ${roles.plan} --type STANDARD --kubernetes-groups ${PLANNER_GROUP}`,
  ]);
  const writes = roles.document.plan!.permissions.Statement.filter((s) => s.Sid?.startsWith('Write'));
  expect(writes).toEqual([]);
});

test("a plan of every stage by the plan role succeeds and is the admin's plan", async () => {
  const mine = await asPlanRole({ command: 'plan' });
  expect(ok(mine)).toEqual({ code: 0, out: '' });
  expect(mine.stdout).toContain(`acting as ${roles.plan}`);
  const theirs = await asAdmin({ command: 'plan' });
  expect(ok(theirs)).toEqual({ code: 0, out: '' });

  const a = readPlan(mine.outputs['plan-path']!);
  const b = readPlan(theirs.outputs['plan-path']!);
  expect(a.stages.map((s) => s.stage)).toEqual(['prereqs', 'install', 'pools']);
  expect(a.stages.flatMap((s) => s.findings).filter((f) => f.level === 'error')).toEqual([]);
  expect(mine.outputs.fingerprint).toBe(theirs.outputs.fingerprint);
  expect(actionable(a).map((c) => [c.ref, c.action])).toEqual(actionable(b).map((c) => [c.ref, c.action]));
  expect(actionable(a).length).toBeGreaterThan(0);
  // the bootstrapped planner objects are the action's own: nothing to change
  const plannerChanges = a.stages[0]!.changes.filter((c) => c.ref.includes('karpenter-action-planner'));
  expect(plannerChanges.map((c) => [c.kind, c.action])).toEqual([
    ['ValidatingAdmissionPolicy', 'no-op'],
    ['ValidatingAdmissionPolicyBinding', 'no-op'],
    ['ClusterRole', 'no-op'],
    ['ClusterRoleBinding', 'no-op'],
  ]);
}, 600_000);

test('the plan role reads no Secret, and a write without dry-run is refused by the policy, by name', async () => {
  for (const attempt of [
    () => planner.list(SECRETS, { namespace: 'kube-system' }),
    () => planner.list(SECRETS),
    () => planner.get(SECRETS, 'anything', 'kube-system'),
  ]) {
    const err = (await attempt().catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.code).toBe(403);
    expect(err.message).toMatch(/cannot (list|get) resource "secrets"/);
  }

  const obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'from-a-pull-request', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: { containers: [{ name: 'x', image: 'busybox' }] },
      },
    },
  };
  // the dry-run is allowed: that is what plans are made of
  await expect(planner.apply(DEPLOYMENTS, obj, { dryRun: true })).resolves.toMatchObject({
    kind: 'Deployment',
  });
  const err = (await planner
    .apply(DEPLOYMENTS, obj, { dryRun: false })
    .catch((e: unknown) => e)) as KubeApiError;
  expect(err).toBeInstanceOf(KubeApiError);
  expect(err.code).toBe(403);
  expect(err.message).toContain(`ValidatingAdmissionPolicy '${PLANNER_POLICY}'`);
  expect(err.message).toContain(
    `${PLANNER_POLICY}: the karpenter-action plan role is read-only and may only dry-run; writes go through the apply role after a reviewed plan is approved`,
  );
  expect(await planner.get(DEPLOYMENTS, 'from-a-pull-request', 'default')).toBeUndefined();
});

test('the apply role applies the plan; the plan role then plans no change', async () => {
  const planned = await asPlanRole({ command: 'plan' });
  expect(ok(planned)).toEqual({ code: 0, out: '' });
  const applied = await runAction({
    inputs: {
      stages: STAGES,
      comment: 'false',
      command: 'apply',
      'role-to-assume': roles.apply,
      fingerprint: planned.outputs.fingerprint!,
    },
    env: { ...runnerEnv, ...oidcEnv(applyOidc) },
    workspace,
  });
  expect(ok(applied)).toEqual({ code: 0, out: '' });
  expect(applied.stdout).toContain(`acting as ${roles.apply}`);

  const after = await asPlanRole({ command: 'plan' });
  expect(ok(after)).toEqual({ code: 0, out: '' });
  expect(actionable(readPlan(after.outputs['plan-path']!)).map((c) => [c.ref, c.action])).toEqual([]);
  expect(after.outputs['has-changes']).toBe('false');
}, 900_000);
