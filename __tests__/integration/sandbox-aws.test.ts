/**
 * The sandbox's AWS side: moto 5.2.1 reached only through the environment, and each extension the
 * project adds behaving as AWS documents it, success and error codes.
 */
import { X509Certificate } from 'node:crypto';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  CreateAddonCommand,
  CreatePodIdentityAssociationCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribeUpdateCommand,
  EKSClient,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
  ListPodIdentityAssociationsCommand,
  UpdateClusterConfigCommand,
  UpdateNodegroupConfigCommand,
  DescribeNodegroupCommand,
} from '@aws-sdk/client-eks';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { withAccount } from '../../sandbox/lib/aws.ts';
import {
  deleteCluster,
  newCluster,
  ownAccount,
  sandbox,
  useAwsEnv,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

let restoreEnv: () => void;
let apiCluster: ClusterInfo;
let configMapCluster: ClusterInfo;
const eks = () => new EKSClient({ maxAttempts: 1 });
const iam = () => new IAMClient({ maxAttempts: 1 });
const rejectName = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  throw new Error('expected the call to fail');
};

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  [apiCluster, configMapCluster] = await Promise.all([
    newCluster({ authenticationMode: 'API_AND_CONFIG_MAP' }),
    newCluster({ authenticationMode: 'CONFIG_MAP', withClusterAutoscaler: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([deleteCluster(apiCluster.name), deleteCluster(configMapCluster.name)]);
  restoreEnv();
});

test('an SDK client configured only by the environment reaches moto', async () => {
  expect(process.env.AWS_ENDPOINT_URL).toBe(sandbox().motoUrl);
  const who = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  expect(who.Account).toBe('123456789012');
});

describe('EKS cluster description', () => {
  test('carries accessConfig, the local endpoint, a PEM CA, a per-cluster OIDC issuer and the cluster security group', async () => {
    const describe = async (c: ClusterInfo) =>
      (await eks().send(new DescribeClusterCommand({ name: c.name }))).cluster!;
    const a = await describe(apiCluster);
    const b = await describe(configMapCluster);
    expect(a.accessConfig?.authenticationMode).toBe('API_AND_CONFIG_MAP');
    expect(b.accessConfig?.authenticationMode).toBe('CONFIG_MAP');
    expect(a.endpoint).toBe(apiCluster.endpoint);
    expect(() => new X509Certificate(Buffer.from(a.certificateAuthority!.data!, 'base64'))).not.toThrow();
    expect(a.identity?.oidc?.issuer).toMatch(
      /^https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/,
    );
    expect(a.identity?.oidc?.issuer).not.toBe(b.identity?.oidc?.issuer);
    expect(a.version).toBe('1.36');
    expect(a.resourcesVpcConfig?.clusterSecurityGroupId).toMatch(/^sg-/);
    expect(a.resourcesVpcConfig?.vpcId).toBe(apiCluster.vpcId);
  });

  test('authentication mode moves forward with a real update and never back', async () => {
    const c = await newCluster({ authenticationMode: 'CONFIG_MAP', withClusterAutoscaler: false });
    try {
      const up = await eks().send(
        new UpdateClusterConfigCommand({
          name: c.name,
          accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
        }),
      );
      expect(up.update).toMatchObject({ type: 'AccessConfigUpdate', status: 'Successful' });
      const described = await eks().send(
        new DescribeUpdateCommand({ name: c.name, updateId: up.update!.id! }),
      );
      expect(described.update?.id).toBe(up.update!.id);
      expect(
        (await eks().send(new DescribeClusterCommand({ name: c.name }))).cluster?.accessConfig
          ?.authenticationMode,
      ).toBe('API_AND_CONFIG_MAP');
      expect(
        await rejectName(
          eks().send(
            new UpdateClusterConfigCommand({
              name: c.name,
              accessConfig: { authenticationMode: 'CONFIG_MAP' },
            }),
          ),
        ),
      ).toBe('InvalidParameterException');
    } finally {
      await deleteCluster(c.name);
    }
  });
});

describe('EKS access entries', () => {
  const principal = () => `arn:aws:iam::123456789012:role/KarpenterNodeRole-${apiCluster.name}`;

  test('an EC2_LINUX entry gets the node username and group; list, describe and delete work', async () => {
    const created = await eks().send(
      new CreateAccessEntryCommand({
        clusterName: apiCluster.name,
        principalArn: principal(),
        type: 'EC2_LINUX',
      }),
    );
    expect(created.accessEntry).toMatchObject({
      principalArn: principal(),
      type: 'EC2_LINUX',
      username: 'system:node:{{EC2PrivateDNSName}}',
      kubernetesGroups: ['system:nodes'],
    });
    const list = await eks().send(new ListAccessEntriesCommand({ clusterName: apiCluster.name }));
    expect(list.accessEntries).toContain(principal());
    const d = await eks().send(
      new DescribeAccessEntryCommand({ clusterName: apiCluster.name, principalArn: principal() }),
    );
    expect(d.accessEntry?.accessEntryArn).toMatch(/^arn:aws:eks:us-east-1:123456789012:access-entry\//);
    expect(
      await rejectName(
        eks().send(
          new CreateAccessEntryCommand({
            clusterName: apiCluster.name,
            principalArn: principal(),
            type: 'EC2_LINUX',
          }),
        ),
      ),
    ).toBe('ResourceInUseException');
    await eks().send(
      new DeleteAccessEntryCommand({ clusterName: apiCluster.name, principalArn: principal() }),
    );
    expect(
      await rejectName(
        eks().send(
          new DescribeAccessEntryCommand({ clusterName: apiCluster.name, principalArn: principal() }),
        ),
      ),
    ).toBe('ResourceNotFoundException');
  });

  test('the cluster creator has an admin entry, and policies can be associated', async () => {
    const creator = 'arn:aws:iam::123456789012:user/moto';
    const policies = await eks().send(
      new ListAssociatedAccessPoliciesCommand({ clusterName: apiCluster.name, principalArn: creator }),
    );
    expect(policies.associatedAccessPolicies?.map((p) => p.policyArn)).toEqual([
      'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
    ]);
    const viewer = `arn:aws:iam::123456789012:role/viewer-${apiCluster.name}`;
    await eks().send(new CreateAccessEntryCommand({ clusterName: apiCluster.name, principalArn: viewer }));
    const assoc = await eks().send(
      new AssociateAccessPolicyCommand({
        clusterName: apiCluster.name,
        principalArn: viewer,
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
        accessScope: { type: 'namespace', namespaces: ['team-a'] },
      }),
    );
    expect(assoc.associatedAccessPolicy?.accessScope).toEqual({ type: 'namespace', namespaces: ['team-a'] });
  });

  test('a CONFIG_MAP cluster refuses access entries with InvalidRequestException', async () => {
    expect(
      await rejectName(
        eks().send(
          new CreateAccessEntryCommand({
            clusterName: configMapCluster.name,
            principalArn: 'arn:aws:iam::123456789012:role/x',
            type: 'EC2_LINUX',
          }),
        ),
      ),
    ).toBe('InvalidRequestException');
  });

  test('a missing cluster is ResourceNotFoundException', async () => {
    expect(
      await rejectName(eks().send(new ListAccessEntriesCommand({ clusterName: 'no-such-cluster' }))),
    ).toBe('ResourceNotFoundException');
  });
});

test('Pod Identity associations: create, filter by service account, refuse duplicates', async () => {
  const roleArn = `arn:aws:iam::123456789012:role/KarpenterController-${apiCluster.name}`;
  const created = await eks().send(
    new CreatePodIdentityAssociationCommand({
      clusterName: apiCluster.name,
      namespace: 'kube-system',
      serviceAccount: 'karpenter',
      roleArn,
    }),
  );
  expect(created.association?.associationId).toMatch(/^a-[a-z0-9]{17}$/);
  const list = await eks().send(
    new ListPodIdentityAssociationsCommand({
      clusterName: apiCluster.name,
      namespace: 'kube-system',
      serviceAccount: 'karpenter',
    }),
  );
  expect(list.associations?.map((a) => a.associationId)).toEqual([created.association!.associationId]);
  const none = await eks().send(
    new ListPodIdentityAssociationsCommand({ clusterName: apiCluster.name, serviceAccount: 'other' }),
  );
  expect(none.associations).toEqual([]);
  expect(
    await rejectName(
      eks().send(
        new CreatePodIdentityAssociationCommand({
          clusterName: apiCluster.name,
          namespace: 'kube-system',
          serviceAccount: 'karpenter',
          roleArn,
        }),
      ),
    ),
  ).toBe('ResourceInUseException');
});

test('addons: the Pod Identity agent is created ACTIVE; a missing addon is ResourceNotFoundException', async () => {
  expect(
    await rejectName(
      eks().send(
        new DescribeAddonCommand({ clusterName: apiCluster.name, addonName: 'eks-pod-identity-agent' }),
      ),
    ),
  ).toBe('ResourceNotFoundException');
  const created = await eks().send(
    new CreateAddonCommand({ clusterName: apiCluster.name, addonName: 'eks-pod-identity-agent' }),
  );
  expect(created.addon?.addonName).toBe('eks-pod-identity-agent');
  const d = await eks().send(
    new DescribeAddonCommand({ clusterName: apiCluster.name, addonName: 'eks-pod-identity-agent' }),
  );
  expect(d.addon?.status).toBe('ACTIVE');
  expect(
    await rejectName(
      eks().send(
        new CreateAddonCommand({ clusterName: apiCluster.name, addonName: 'eks-pod-identity-agent' }),
      ),
    ),
  ).toBe('ResourceInUseException');
});

test('a node group can be resized through UpdateNodegroupConfig', async () => {
  const up = await eks().send(
    new UpdateNodegroupConfigCommand({
      clusterName: apiCluster.name,
      nodegroupName: apiCluster.nodegroupName,
      scalingConfig: { minSize: 0, maxSize: 5, desiredSize: 1 },
    }),
  );
  expect(up.update?.id).toBeTruthy();
  const ng = await eks().send(
    new DescribeNodegroupCommand({ clusterName: apiCluster.name, nodegroupName: apiCluster.nodegroupName }),
  );
  expect(ng.nodegroup?.scalingConfig).toEqual({ minSize: 0, maxSize: 5, desiredSize: 1 });
});

test('EKS-optimized AMI parameters resolve through SSM to images that exist in EC2', async () => {
  const ssm = new SSMClient({});
  const al2023 = await ssm.send(
    new GetParameterCommand({
      Name: '/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/x86_64/standard/recommended/image_id',
    }),
  );
  const arm = await ssm.send(
    new GetParameterCommand({
      Name: '/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/arm64/standard/recommended/image_id',
    }),
  );
  const br = await ssm.send(
    new GetParameterCommand({ Name: '/aws/service/bottlerocket/aws-k8s-1.36/x86_64/latest/image_id' }),
  );
  const ids = [al2023, arm, br].map((p) => p.Parameter!.Value!);
  for (const id of ids) expect(id).toMatch(/^ami-[0-9a-f]{17}$/);
  expect(new Set(ids).size).toBe(3);
  const images = await new EC2Client({}).send(new DescribeImagesCommand({ ImageIds: ids }));
  expect(images.Images?.map((i) => i.ImageId).sort()).toEqual([...ids].sort());
  expect(images.Images?.find((i) => i.ImageId === ids[1])?.Architecture).toBe('arm64');
  expect(
    await rejectName(
      ssm.send(
        new GetParameterCommand({
          Name: '/aws/service/eks/optimized-ami/1.12/amazon-linux-2023/x86_64/standard/recommended/image_id',
        }),
      ),
    ),
  ).toBe('ParameterNotFound');
});

test('the Spot service-linked role has its AWS name, and a second create is InvalidInput', async () => {
  // The role is account-wide, so this test uses an account of its own.
  const client = withAccount(new IAMClient({ maxAttempts: 1 }), ownAccount());
  const created = await client.send(
    new CreateServiceLinkedRoleCommand({ AWSServiceName: 'spot.amazonaws.com' }),
  );
  expect(created.Role?.RoleName).toBe('AWSServiceRoleForEC2Spot');
  expect(created.Role?.Path).toBe('/aws-service-role/spot.amazonaws.com/');
  const again = await client
    .send(new CreateServiceLinkedRoleCommand({ AWSServiceName: 'spot.amazonaws.com' }))
    .catch((e: unknown) => e);
  expect(again).toMatchObject({ name: 'InvalidInputException', $metadata: { httpStatusCode: 400 } });
  expect((again as Error).message).toContain('has been taken in this account');
  expect(
    (await client.send(new GetRoleCommand({ RoleName: 'AWSServiceRoleForEC2Spot' }))).Role?.RoleName,
  ).toBe('AWSServiceRoleForEC2Spot');
});

test('AWS-managed policies can be attached', async () => {
  const name = `managed-${apiCluster.name}`;
  await iam().send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  for (const p of [
    'AmazonEKSWorkerNodePolicy',
    'AmazonEKS_CNI_Policy',
    'AmazonEC2ContainerRegistryPullOnly',
    'AmazonSSMManagedInstanceCore',
  ]) {
    await iam().send(
      new AttachRolePolicyCommand({ RoleName: name, PolicyArn: `arn:aws:iam::aws:policy/${p}` }),
    );
  }
  const attached = await iam().send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
  expect(attached.AttachedPolicies).toHaveLength(4);
  expect(
    await rejectName(
      iam().send(new CreateRoleCommand({ RoleName: `${name}-bad`, AssumeRolePolicyDocument: '{not json' })),
    ),
  ).toBe('MalformedPolicyDocumentException');
});

test('an SQS queue keeps its policy when later attribute updates leave it out', async () => {
  const sqs = new SQSClient({ endpoint: sandbox().motoUrl });
  const q = await sqs.send(new CreateQueueCommand({ QueueName: `interruption-${apiCluster.name}` }));
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EC2InterruptionPolicy',
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'sqs.amazonaws.com'] },
        Action: 'sqs:SendMessage',
        Resource: '*',
      },
    ],
  };
  await sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, Attributes: { Policy: JSON.stringify(policy) } }),
  );
  await sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, Attributes: { MessageRetentionPeriod: '300' } }),
  );
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, AttributeNames: ['All'] }),
  );
  expect(JSON.parse(attrs.Attributes!.Policy!)).toEqual(policy);
  expect(attrs.Attributes!.MessageRetentionPeriod).toBe('300');
});
