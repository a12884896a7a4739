import { canonicalizePolicy, diffPolicyStatements, policiesEqual } from '../../src/plan/iam-policy.ts';

const base = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'A', Effect: 'Allow', Action: ['ec2:RunInstances', 'ec2:CreateFleet'], Resource: '*' },
    {
      Sid: 'B',
      Effect: 'Allow',
      Action: 'sqs:ReceiveMessage',
      Resource: 'arn:aws:sqs:us-east-1:1:q',
      Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
    },
  ],
};

test('URL-encoding, string-or-list and ordering are not differences', () => {
  const shuffled = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'B',
        Effect: 'Allow',
        Resource: ['arn:aws:sqs:us-east-1:1:q'],
        Action: ['sqs:ReceiveMessage'],
        Condition: { StringEquals: { 'aws:RequestedRegion': ['us-east-1'] } },
      },
      { Sid: 'A', Effect: 'Allow', Action: ['ec2:CreateFleet', 'ec2:RunInstances'], Resource: ['*'] },
    ],
  };
  expect(policiesEqual(base, shuffled)).toBe(true);
  expect(policiesEqual(encodeURIComponent(JSON.stringify(base)), base)).toBe(true);
  expect(canonicalizePolicy(JSON.stringify(base)).Statement.map((s) => s.Sid)).toEqual(['A', 'B']);
});

test('an added action, a removed resource and a changed condition are reported per Sid', () => {
  const after = structuredClone(base) as typeof base & { Statement: Record<string, unknown>[] };
  after.Statement[0]!.Action = ['ec2:RunInstances', 'ec2:CreateFleet', 'ec2:DescribeInstanceStatus'];
  after.Statement[1]!.Condition = { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } };
  expect(diffPolicyStatements(base, after)).toEqual([
    { path: 'Statement[A].Action', op: 'add', after: ['ec2:DescribeInstanceStatus'] },
    {
      path: 'Statement[B].Condition',
      op: 'change',
      before: { StringEquals: { 'aws:RequestedRegion': ['us-east-1'] } },
      after: { StringEquals: { 'aws:RequestedRegion': ['eu-west-1'] } },
    },
  ]);
});

test('whole statements added or removed', () => {
  const after = {
    Version: '2012-10-17',
    Statement: [base.Statement[0], { Sid: 'C', Effect: 'Deny', Action: 'sqs:*', Resource: '*' }],
  };
  const d = diffPolicyStatements(base, after);
  expect(d.map((f) => [f.path, f.op])).toEqual([
    ['Statement[C]', 'add'],
    ['Statement[B]', 'remove'],
  ]);
});
