/**
 * Fault injection in the sandbox's moto server: an armed rule fails the next call of one operation
 * with the chosen code and status, in each protocol the action's AWS calls use (JSON, query, EC2 query,
 * REST-JSON), so the SDK reports that code as the error's name; the call after it reaches moto.
 * Every rule is scoped to this file's own account, as tests running beside others must.
 */
import { CreateTagsCommand, DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateAccessEntryCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { withAccount } from '../../sandbox/lib/aws.ts';
import {
  injectFault,
  listFaults,
  removeFault,
  type Fault,
  type FaultRule,
} from '../../sandbox/lib/faults.ts';
import { deleteCluster, newCluster, ownAccount, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

const account = ownAccount();
let restoreEnv: () => void;
let cluster: ClusterInfo;
const armed: string[] = [];

const sqs = () => withAccount(new SQSClient({ maxAttempts: 1 }), account);
const iam = () => withAccount(new IAMClient({ maxAttempts: 1 }), account);
const ec2 = () => withAccount(new EC2Client({ maxAttempts: 1 }), account);
const eks = () => withAccount(new EKSClient({ maxAttempts: 1 }), account);

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

async function arm(rule: Omit<FaultRule, 'accountId'>, accountId = account): Promise<Fault> {
  const fault = await injectFault({ ...rule, accountId });
  armed.push(fault.id);
  return fault;
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

async function current(id: string): Promise<Fault> {
  const fault = (await listFaults()).find((f) => f.id === id);
  if (!fault) throw new Error(`fault ${id} is not listed`);
  return fault;
}

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  cluster = await newCluster({
    accountId: account,
    authenticationMode: 'API_AND_CONFIG_MAP',
    withClusterAutoscaler: false,
  });
});
afterAll(async () => {
  await Promise.all(armed.map((id) => removeFault(id)));
  if (cluster) await deleteCluster(cluster.name);
  restoreEnv();
});

test('SQS CreateQueue (JSON protocol) fails once with the injected code, then succeeds', async () => {
  const fault = await arm({ operation: 'CreateQueue', code: 'QueueDeletedRecently', status: 400 });
  const send = () => sqs().send(new CreateQueueCommand({ QueueName: 'faults-interruption' }));
  expect(await failure(send())).toEqual({ name: 'QueueDeletedRecently', status: 400 });
  expect((await send()).QueueUrl).toMatch(new RegExp(`/${account}/faults-interruption$`));
  const after = await current(fault.id);
  expect(after.remaining).toBe(0);
  expect(after.hits).toEqual([
    expect.objectContaining({ service: 'sqs', accountId: account, method: 'POST' }),
  ]);
});

test('IAM CreateRole (query protocol) fails once; the form body still reaches moto while a rule is armed', async () => {
  const fault = await arm({ operation: 'CreateRole' });
  // Armed for another account, it is never hit here but makes every CreateRole body be read and put back.
  const elsewhere = await arm({ operation: 'CreateRole' }, ownAccount());
  const send = () =>
    iam().send(new CreateRoleCommand({ RoleName: 'faults-node', AssumeRolePolicyDocument: trust }));
  expect(await failure(send())).toEqual({ name: 'InternalFailure', status: 500 });
  expect((await send()).Role?.Arn).toBe(`arn:aws:iam::${account}:role/faults-node`);
  expect((await iam().send(new GetRoleCommand({ RoleName: 'faults-node' }))).Role?.RoleName).toBe(
    'faults-node',
  );
  expect(await current(fault.id)).toMatchObject({
    remaining: 0,
    hits: [{ service: 'iam', accountId: account }],
  });
  expect(await current(elsewhere.id)).toMatchObject({ remaining: 1, hits: [] });
});

test('EC2 CreateTags (EC2 query protocol) fails once with the injected code, then succeeds', async () => {
  const fault = await arm({ operation: 'CreateTags', code: 'RequestLimitExceeded', status: 503 });
  const send = () =>
    ec2().send(
      new CreateTagsCommand({
        Resources: [cluster.vpcId],
        Tags: [{ Key: 'karpenter.sh/discovery', Value: cluster.name }],
      }),
    );
  expect(await failure(send())).toEqual({ name: 'RequestLimitExceeded', status: 503 });
  await send();
  const tags = await ec2().send(
    new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [cluster.vpcId] }] }),
  );
  expect(tags.Tags).toEqual(
    expect.arrayContaining([expect.objectContaining({ Key: 'karpenter.sh/discovery', Value: cluster.name })]),
  );
  expect(await current(fault.id)).toMatchObject({
    remaining: 0,
    hits: [{ service: 'ec2', accountId: account }],
  });
});

test('EKS CreateAccessEntry (REST-JSON) fails once with the injected code, then succeeds', async () => {
  const principalArn = (
    await iam().send(new CreateRoleCommand({ RoleName: 'faults-entry', AssumeRolePolicyDocument: trust }))
  ).Role!.Arn!;
  const fault = await arm({
    operation: 'CreateAccessEntry',
    code: 'ResourceLimitExceededException',
    status: 400,
  });
  const send = () => eks().send(new CreateAccessEntryCommand({ clusterName: cluster.name, principalArn }));
  expect(await failure(send())).toEqual({ name: 'ResourceLimitExceededException', status: 400 });
  expect((await send()).accessEntry?.principalArn).toBe(principalArn);
  expect(await current(fault.id)).toMatchObject({
    remaining: 0,
    hits: [{ service: 'eks', accountId: account, method: 'POST' }],
  });
});

test('a rule for another account never fails this account’s calls', async () => {
  const other = await arm(
    { operation: 'CreateQueue', code: 'QueueDeletedRecently', status: 400 },
    ownAccount(),
  );
  await sqs().send(new CreateQueueCommand({ QueueName: 'faults-other' }));
  expect(await current(other.id)).toMatchObject({ remaining: 1, hits: [] });
  expect(await removeFault(other.id)).toBe(true);
  expect(await removeFault(other.id)).toBe(false);
  expect((await listFaults()).some((f) => f.id === other.id)).toBe(false);
});
