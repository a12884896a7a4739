/**
 * IAM roles and policies against moto: created with their trust and attachments; a detached policy, an
 * edited policy document and an edited trust each show up as exactly that change; an interrupted apply
 * (stopped after the role was created) is completed by the next run with nothing duplicated.
 */
import {
  CreateRoleCommand,
  DetachRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
  CreatePolicyVersionCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  applyPolicy,
  applyRoleChange,
  planPolicy,
  planRole,
  type PolicySpec,
  type RoleSpec,
} from '../../src/stages/prereqs/iam.ts';
import { buildPodIdentityTrust } from '../../src/stages/prereqs/identity.ts';
import { useAwsEnv } from '../helpers/sandbox.ts';

let restore: () => void;
beforeAll(() => {
  restore = useAwsEnv();
});
afterAll(() => restore());

const own = {
  ownerTag: ['karpenter-action/managed-by', 'karpenter-action'] as [string, string],
  adopt: false,
};
const tags = { 'karpenter-action/managed-by': 'karpenter-action' };
const id = () => Math.random().toString(36).slice(2, 8);
const iam = () => new IAMClient({ maxAttempts: 1 });

const policySpec = (name: string): PolicySpec => ({
  name,
  arn: `arn:aws:iam::123456789012:policy/${name}`,
  description: 'Karpenter controller permissions',
  document: {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowRegionalReadActions',
        Effect: 'Allow',
        Action: ['ec2:DescribeImages', 'ec2:DescribeSubnets'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
      },
      {
        Sid: 'AllowInterruptionQueueActions',
        Effect: 'Allow',
        Action: ['sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        Resource: 'arn:aws:sqs:us-east-1:123456789012:q',
      },
    ],
  },
  tags,
});

test('a role with trust and attachments: created, then each drift exactly, then converged', async () => {
  const policy = policySpec(`KarpenterControllerPolicy-${id()}`);
  const role: RoleSpec = {
    name: `KarpenterController-${id()}`,
    description: 'Karpenter controller',
    trust: buildPodIdentityTrust(),
    attach: ['arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore', policy.arn],
    tags,
  };
  const p = await planPolicy(iam(), policy, own);
  expect(p.change.action).toBe('create');
  await applyPolicy(iam(), policy, p.change);
  const r = await planRole(iam(), role, own);
  expect(r.changes.map((c) => [c.kind, c.action])).toEqual([
    ['IAM role', 'create'],
    ['IAM role policy attachment', 'create'],
    ['IAM role policy attachment', 'create'],
  ]);
  // interrupted: only the role got created before the run stopped
  await applyRoleChange(iam(), role, r.changes[0]!);
  const resumed = await planRole(iam(), role, own);
  expect(resumed.changes.map((c) => c.action)).toEqual(['no-op', 'create', 'create']);
  for (const c of resumed.changes) await applyRoleChange(iam(), role, c);
  // repeating the original (stale) plan duplicates nothing
  for (const c of r.changes) await applyRoleChange(iam(), role, c);
  expect(
    (await iam().send(new ListAttachedRolePoliciesCommand({ RoleName: role.name }))).AttachedPolicies,
  ).toHaveLength(2);
  expect((await planRole(iam(), role, own)).changes.every((c) => c.action === 'no-op')).toBe(true);
  expect((await planPolicy(iam(), policy, own)).change.action).toBe('no-op');

  // drift 1: a detached policy
  await iam().send(new DetachRolePolicyCommand({ RoleName: role.name, PolicyArn: policy.arn }));
  const detached = (await planRole(iam(), role, own)).changes.filter((c) => c.action !== 'no-op');
  expect(detached.map((c) => [c.kind, c.after])).toEqual([
    ['IAM role policy attachment', { policyArn: policy.arn }],
  ]);

  // drift 2: an edited policy document, shown per statement
  const edited = structuredClone(policy.document) as { Statement: { Action: string[] }[] };
  edited.Statement[1]!.Action = ['sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
  await iam().send(
    new CreatePolicyVersionCommand({
      PolicyArn: policy.arn,
      PolicyDocument: JSON.stringify(edited),
      SetAsDefault: true,
    }),
  );
  const pd = await planPolicy(iam(), policy, own);
  expect(pd.change.fieldChanges).toEqual([
    { path: 'Statement[AllowInterruptionQueueActions].Action', op: 'add', after: ['sqs:DeleteMessage'] },
  ]);

  // drift 3: an edited trust policy
  await iam().send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: role.name,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  const trust = (await planRole(iam(), role, own)).changes.find((c) => c.kind === 'IAM role')!;
  expect(trust.fieldChanges).toEqual([
    { path: 'trust.Statement[#0].Action', op: 'add', after: ['sts:TagSession'] },
  ]);
  expect(trust.action).toBe('update');

  for (const c of (await planRole(iam(), role, own)).changes) await applyRoleChange(iam(), role, c);
  await applyPolicy(iam(), policy, (await planPolicy(iam(), policy, own)).change);
  expect((await planRole(iam(), role, own)).changes.every((c) => c.action === 'no-op')).toBe(true);
  expect((await planPolicy(iam(), policy, own)).change.action).toBe('no-op');
});

test('policy updates keep IAM under its five-version limit', async () => {
  const policy = policySpec(`KarpenterControllerPolicy-${id()}`);
  await applyPolicy(iam(), policy, (await planPolicy(iam(), policy, own)).change);
  for (let i = 0; i < 6; i++) {
    const doc = structuredClone(policy.document) as { Statement: { Action: string[] }[] };
    doc.Statement[0]!.Action.push(`ec2:Describe${i}`);
    await applyPolicy(
      iam(),
      { ...policy, document: doc },
      (await planPolicy(iam(), { ...policy, document: doc }, own)).change,
    );
  }
  expect(
    ((await iam().send(new ListPolicyVersionsCommand({ PolicyArn: policy.arn }))).Versions ?? []).length,
  ).toBeLessThanOrEqual(5);
});

test('a role someone else created is an error unless adoption is allowed, and adoption keeps their attachments', async () => {
  const name = `Foreign-${id()}`;
  await iam().send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify(buildPodIdentityTrust()),
    }),
  );
  const spec: RoleSpec = { name, description: 'x', trust: buildPodIdentityTrust(), attach: [], tags };
  expect((await planRole(iam(), spec, own)).findings.map((f) => f.code)).toEqual(['role-not-owned']);
  const adopted = await planRole(iam(), spec, { ...own, adopt: true });
  expect(adopted.findings).toEqual([]);
  expect(adopted.changes[0]).toMatchObject({
    action: 'update',
    reason: 'adopts an existing role',
    fieldChanges: [{ path: 'tags["karpenter-action/managed-by"]', op: 'add', after: 'karpenter-action' }],
  });
  await applyRoleChange(iam(), spec, adopted.changes[0]!);
  expect((await planRole(iam(), spec, own)).findings).toEqual([]);
});
