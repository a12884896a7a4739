/**
 * The prereqs stage end to end through the bundled action, as the runner runs it, in a moto account
 * of its own (the action runs with an assumed-role session there, as after configure-aws-credentials):
 * a plan on a fresh cluster lists every prerequisite; apply creates them; a second plan is empty; the
 * `aws` CLI finds each resource as the version's CloudFormation template describes it; a detached
 * policy, a removed tag, an edited queue policy and a deleted rule each show up as exactly that change.
 * It installs the newest release the action supports, on a fresh cluster.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { canonicalizePolicy } from '../../src/plan/iam-policy.ts';
import { templateFacts } from '../helpers/cfn-template.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import { versionData } from '../../src/versions/index.ts';
import { deleteCluster, E2E_RELEASES, type ClusterInfo } from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

const exec = promisify(execFile);

let cluster: ClusterInfo;
let workspace: string;
let env: Record<string, string>;

const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'prereqs', ...inputs }, env, workspace });

/** The `aws` CLI with the action's session, pointed at moto: a reader that shares no code with the action. */
async function aws<T>(...args: string[]): Promise<T> {
  const endpoint = ['--endpoint-url', env.AWS_ENDPOINT_URL!];
  const { stdout } = await exec('aws', [...args, ...endpoint, '--output', 'json'], {
    env: { ...process.env, ...env, AWS_DEFAULT_REGION: cluster.region, AWS_REGION: cluster.region },
  });
  return (stdout.trim() ? JSON.parse(stdout) : {}) as T;
}

beforeAll(async () => {
  ({ cluster, env } = await newAccountCluster());
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeClusterConfig(workspace, cluster, { version: E2E_RELEASES.newest });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('plan lists every prerequisite; apply creates them; the next plan is empty; drift is exact', async () => {
  const name = cluster.name;
  const acct = cluster.accountId;
  const nodeRole = `KarpenterNodeRole-${name}`;
  const controllerRole = `${name}-karpenter`;
  const policies = [
    'KarpenterControllerNodeLifecyclePolicy',
    'KarpenterControllerIAMIntegrationPolicy',
    'KarpenterControllerEKSIntegrationPolicy',
    'KarpenterControllerInterruptionPolicy',
    'KarpenterControllerZonalShiftPolicy',
    'KarpenterControllerResourceDiscoveryPolicy',
  ].map((p) => `${p}-${name}`);
  const rules = [
    'ScheduledChangeRule',
    'SpotInterruptionRule',
    'RebalanceRule',
    'InstanceStateChangeRule',
    'CapacityReservationInterruptionRule',
  ];
  const nodePolicies = [
    'AmazonEKS_CNI_Policy',
    'AmazonEKSWorkerNodePolicy',
    'AmazonEC2ContainerRegistryPullOnly',
    'AmazonSSMManagedInstanceCore',
  ];
  const tagged = [...[...cluster.subnetIds].sort(), cluster.clusterSecurityGroupId];

  const first = await run({ command: 'plan' });
  expect({ code: first.code, stderr: first.stderr, stdout: first.code === 0 ? '' : first.stdout }).toEqual({
    code: 0,
    stderr: '',
    stdout: '',
  });
  const plan1 = readPlan(first.outputs['plan-path']!);
  expect(plan1.stages.map((s) => s.stage)).toEqual(['prereqs']);
  expect(plan1.stages[0]!.findings.filter((f) => f.level !== 'info')).toEqual([]);
  const expected = [
    'aws:iam:service-linked-role/AWSServiceRoleForEC2Spot',
    `aws:iam:role/${nodeRole}`,
    ...nodePolicies.map((p) => `aws:iam:role/${nodeRole}/policy/${p}`),
    ...policies.map((p) => `aws:iam:policy/${p}`),
    `aws:iam:role/${controllerRole}`,
    ...policies.map((p) => `aws:iam:role/${controllerRole}/policy/${p}`),
    `aws:sqs:queue/${name}`,
    ...rules.map((r) => `aws:events:rule/Karpenter-${name}-${r}`),
    `aws:eks:addon/${name}/eks-pod-identity-agent`,
    `aws:eks:pod-identity-association/${name}/kube-system/karpenter`,
    `aws:eks:access-entry/${name}/arn:aws:iam::${acct}:role/${nodeRole}`,
    // the planner identity: the dry-run-only policy and its binding before the role that needs them
    ...['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].map(
      (k) => `k8s:admissionregistration.k8s.io/v1/${k}/karpenter-action-planner-dry-run-only`,
    ),
    ...['ClusterRole', 'ClusterRoleBinding'].map(
      (k) => `k8s:rbac.authorization.k8s.io/v1/${k}/karpenter-action-planner`,
    ),
    ...tagged.map((id) => `aws:ec2:tag/${id}/karpenter.sh/discovery`),
  ];
  expect(plan1.stages[0]!.changes.map((c) => [c.ref, c.action])).toEqual(
    expected.map((ref) => [ref, 'create']),
  );
  expect(first.outputs.summary).toBe(`+${expected.length} ~0 -0`);
  // plan never writes
  await expect(aws('iam', 'get-role', '--role-name', nodeRole)).rejects.toThrow(/NoSuchEntity/);

  const applied = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect(applied.stdout).not.toContain('::error::');
  expect(applied.code).toBe(0);

  const second = await run({ command: 'plan' });
  expect(second.code).toBe(0);
  expect(actionable(readPlan(second.outputs['plan-path']!))).toEqual([]);
  expect(second.outputs['has-changes']).toBe('false');

  // The aws CLI against the release's template, resolved for this account, region and cluster.
  const queueArn = `arn:aws:sqs:${cluster.region}:${acct}:${name}`;
  const facts = templateFacts(versionData(E2E_RELEASES.newest).source.fixture, {
    partition: 'aws',
    region: cluster.region,
    accountId: acct,
    clusterName: name,
    nodeRoleArn: `arn:aws:iam::${acct}:role/${nodeRole}`,
    queueArn,
  });
  // One call returns every role with its trust and attachments, and every policy with its versions.
  const details = await aws<{
    RoleDetailList: {
      RoleName: string;
      AssumeRolePolicyDocument: unknown;
      Tags?: { Key: string; Value: string }[];
      AttachedManagedPolicies: { PolicyName: string; PolicyArn: string }[];
    }[];
    Policies: {
      Arn: string;
      DefaultVersionId: string;
      PolicyVersionList: { VersionId: string; Document: unknown }[];
    }[];
  }>('iam', 'get-account-authorization-details', '--filter', 'Role', 'LocalManagedPolicy');
  const roleOf = (n: string) => details.RoleDetailList.find((r) => r.RoleName === n)!;
  expect(canonicalizePolicy(roleOf(nodeRole).AssumeRolePolicyDocument)).toEqual(
    canonicalizePolicy(facts.nodeRoleTrust),
  );
  expect(roleOf(nodeRole).Tags).toContainEqual({
    Key: 'karpenter-action/managed-by',
    Value: 'karpenter-action',
  });
  expect(
    roleOf(nodeRole)
      .AttachedManagedPolicies.map((p) => p.PolicyArn)
      .sort(),
  ).toEqual([...(facts.nodeRoleManagedPolicyArns as string[])].sort());
  expect(
    roleOf(controllerRole)
      .AttachedManagedPolicies.map((p) => p.PolicyName)
      .sort(),
  ).toEqual(facts.controllerPolicies.map((p) => String(p.name)).sort());
  for (const p of facts.controllerPolicies) {
    const live = details.Policies.find((x) => x.Arn === `arn:aws:iam::${acct}:policy/${String(p.name)}`)!;
    expect(live.PolicyVersionList).toHaveLength(1);
    const doc = live.PolicyVersionList.find((v) => v.VersionId === live.DefaultVersionId)!.Document;
    expect(canonicalizePolicy(doc)).toEqual(canonicalizePolicy(p.document));
  }
  const url = (await aws<{ QueueUrl: string }>('sqs', 'get-queue-url', '--queue-name', name)).QueueUrl;
  const attrs = (
    await aws<{ Attributes: Record<string, string> }>(
      'sqs',
      'get-queue-attributes',
      '--queue-url',
      url,
      '--attribute-names',
      'All',
    )
  ).Attributes;
  expect(attrs.QueueArn).toBe(queueArn);
  expect(attrs.MessageRetentionPeriod).toBe(facts.queue.attributes.MessageRetentionPeriod);
  expect(attrs.SqsManagedSseEnabled).toBe(facts.queue.attributes.SqsManagedSseEnabled);
  expect(canonicalizePolicy(attrs.Policy)).toEqual(canonicalizePolicy(facts.queue.policy));
  const listed = await aws<{ Rules: { Name: string; EventPattern: string; State: string }[] }>(
    'events',
    'list-rules',
    '--name-prefix',
    `Karpenter-${name}-`,
  );
  expect(listed.Rules.map((r) => [r.Name, JSON.parse(r.EventPattern) as unknown, r.State]).sort()).toEqual(
    facts.rules.map((r) => [`Karpenter-${name}-${r.logicalId}`, r.eventPattern, 'ENABLED']).sort(),
  );
  const targets = await Promise.all(
    facts.rules.map((r) =>
      aws<{ Targets: unknown[] }>(
        'events',
        'list-targets-by-rule',
        '--rule',
        `Karpenter-${name}-${r.logicalId}`,
      ),
    ),
  );
  expect(targets.map((t) => t.Targets)).toEqual(facts.rules.map((r) => r.targets));
  expect(facts.rules).toHaveLength(5);
  const entry = await aws<{ accessEntry: { type: string } }>(
    'eks',
    'describe-access-entry',
    '--cluster-name',
    name,
    '--principal-arn',
    `arn:aws:iam::${acct}:role/${nodeRole}`,
  );
  expect(entry.accessEntry.type).toBe('EC2_LINUX');
  const assoc = await aws<{ associations: { serviceAccount: string; namespace: string }[] }>(
    'eks',
    'list-pod-identity-associations',
    '--cluster-name',
    name,
  );
  expect(assoc.associations.map((a) => `${a.namespace}/${a.serviceAccount}`)).toEqual([
    'kube-system/karpenter',
  ]);
  const tags = await aws<{ Tags: { ResourceId: string; Value: string }[] }>(
    'ec2',
    'describe-tags',
    '--filters',
    `Name=resource-id,Values=${tagged.join(',')}`,
    'Name=key,Values=karpenter.sh/discovery',
  );
  expect(tags.Tags.map((t) => [t.ResourceId, t.Value]).sort()).toEqual(tagged.map((id) => [id, name]).sort());

  // Drift: a detached policy, a removed tag, an edited queue policy, a deleted rule.
  const detachedArn = `arn:aws:iam::${acct}:policy/${policies[3]!}`;
  await aws('iam', 'detach-role-policy', '--role-name', controllerRole, '--policy-arn', detachedArn);
  await aws(
    'ec2',
    'delete-tags',
    '--resources',
    cluster.subnetIds[1]!,
    '--tags',
    'Key=karpenter.sh/discovery',
  );
  const editedPolicy = canonicalizePolicy(attrs.Policy) as { Statement: { Sid?: string }[] };
  const kept = {
    Version: '2012-10-17',
    Id: 'EC2InterruptionPolicy',
    Statement: (JSON.parse(attrs.Policy!) as { Statement: { Sid?: string }[] }).Statement.filter(
      (s) => s.Sid !== 'DenyHTTP',
    ),
  };
  expect(kept.Statement.length).toBe(editedPolicy.Statement.length - 1);
  await aws(
    'sqs',
    'set-queue-attributes',
    '--queue-url',
    url,
    '--attributes',
    JSON.stringify({ Policy: JSON.stringify(kept) }),
  );
  const deletedRule = `Karpenter-${name}-RebalanceRule`;
  await aws('events', 'remove-targets', '--rule', deletedRule, '--ids', 'KarpenterInterruptionQueueTarget');
  await aws('events', 'delete-rule', '--name', deletedRule);

  const drifted = await run({ command: 'plan' });
  expect(drifted.code).toBe(0);
  const changes = actionable(readPlan(drifted.outputs['plan-path']!));
  expect(changes.map((c) => [c.ref, c.action])).toEqual([
    [`aws:iam:role/${controllerRole}/policy/${policies[3]!}`, 'create'],
    [`aws:sqs:queue/${name}`, 'update'],
    [`aws:events:rule/${deletedRule}`, 'create'],
    [`aws:ec2:tag/${cluster.subnetIds[1]!}/karpenter.sh/discovery`, 'create'],
  ]);
  const queueChange = changes[1]!;
  expect(queueChange.fieldChanges.map((f) => f.path)).toEqual(['Policy.Statement[DenyHTTP]']);
  expect(drifted.outputs.summary).toBe('+3 ~1 -0');

  const repaired = await run({ command: 'apply', fingerprint: drifted.outputs.fingerprint! });
  expect(repaired.code).toBe(0);
  const clean = await run({ command: 'plan' });
  expect(actionable(readPlan(clean.outputs['plan-path']!))).toEqual([]);
});
