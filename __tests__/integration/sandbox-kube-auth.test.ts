/**
 * The sandbox's Kubernetes side authenticates the way EKS does: a client built only from DescribeCluster
 * and an EKS token gets in when its principal has an access entry or an aws-auth mapping, and is refused
 * otherwise.
 */
import { X509Certificate } from 'node:crypto';
import { EKSClient, CreateAccessEntryCommand, AssociateAccessPolicyCommand } from '@aws-sdk/client-eks';
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CoreV1Api, AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { buildEksKubeConfig, readEksCluster } from '../../src/adapters/kube-connect.ts';
import { defaultCredentials } from '../../src/adapters/aws-credentials.ts';
import {
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  useAwsEnv,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  cluster = await newCluster();
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  restoreEnv();
});

async function kubeFor(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const eks = new EKSClient({});
  const info = await readEksCluster(eks, cluster.name);
  return buildEksKubeConfig(info, sandbox().region, () => Promise.resolve(credentials));
}

async function listNamespaces(kc: KubeConfig): Promise<string[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  return list.items.map((n) => n.metadata!.name!);
}

async function userWithKeys(name: string) {
  const iam = new IAMClient({});
  await iam.send(new CreateUserCommand({ UserName: name }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
}

test('DescribeCluster returns the local API server endpoint and a real PEM CA', async () => {
  const info = await readEksCluster(new EKSClient({}), cluster.name);
  expect(info.endpoint).toBe(cluster.endpoint);
  const ca = new X509Certificate(Buffer.from(info.caData, 'base64'));
  expect(ca.subject).toContain('sandbox-eks-ca');
  expect(info.version).toBe('1.36');
});

test('a client built only from DescribeCluster and an EKS token lists namespaces as the cluster creator', async () => {
  const kc = await kubeFor(await defaultCredentials(sandbox().region)());
  expect(await listNamespaces(kc)).toEqual(expect.arrayContaining(['default', 'kube-system']));
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  expect(review.status?.userInfo?.username).toBe('arn:aws:iam::123456789012:user/moto');
  expect(review.status?.userInfo?.groups).toContain('eks-access-policy:AmazonEKSClusterAdminPolicy');
});

test('a principal with no access entry and no aws-auth mapping is refused with 401', async () => {
  const kc = await kubeFor(await userWithKeys(`nobody-${cluster.name}`));
  await expect(listNamespaces(kc)).rejects.toMatchObject({ code: 401 });
});

test('a token minted for another cluster is refused', async () => {
  const info = await readEksCluster(new EKSClient({}), cluster.name);
  const creds = defaultCredentials(sandbox().region);
  // Same endpoint and credentials, but the token's signed x-k8s-aws-id names another cluster.
  const kc = buildEksKubeConfig({ ...info, name: `${cluster.name}-other` }, sandbox().region, creds);
  await expect(listNamespaces(kc)).rejects.toMatchObject({ code: 401 });
});

test('an access entry without an access policy authenticates but is forbidden (403)', async () => {
  const keys = await userWithKeys(`viewer-${cluster.name}`);
  const eks = new EKSClient({});
  await eks.send(
    new CreateAccessEntryCommand({
      clusterName: cluster.name,
      principalArn: `arn:aws:iam::123456789012:user/viewer-${cluster.name}`,
    }),
  );
  const kc = await kubeFor(keys);
  const core = kc.makeApiClient(CoreV1Api);
  await expect(core.listNamespacedConfigMap({ namespace: 'kube-system' })).rejects.toMatchObject({
    code: 403,
  });
  await eks.send(
    new AssociateAccessPolicyCommand({
      clusterName: cluster.name,
      principalArn: `arn:aws:iam::123456789012:user/viewer-${cluster.name}`,
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
      accessScope: { type: 'cluster' },
    }),
  );
  // The API server caches a successful authentication for 10 s per token, and the sandbox carries access
  // policies as groups, so the new policy applies to a new token (signed in a later second).
  await new Promise((r) => setTimeout(r, 1100));
  const viewer = (await kubeFor(keys)).makeApiClient(CoreV1Api);
  // AmazonEKSViewPolicy maps to the aggregated `view` rules: namespaced reads, no secrets.
  const cms = await viewer.listNamespacedConfigMap({ namespace: 'kube-system' });
  expect(cms.items.map((c) => c.metadata?.name)).toContain('aws-auth');
  await expect(viewer.listNamespacedSecret({ namespace: 'kube-system' })).rejects.toMatchObject({
    code: 403,
  });
});

test('an assumed role mapped in aws-auth gets the mapped username and groups', async () => {
  const roleName = `mapped-${cluster.name}`;
  const iam = new IAMClient({});
  const role = await iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  const assumed = await new STSClient({}).send(
    new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: 'ci-session' }),
  );
  const creds = {
    accessKeyId: assumed.Credentials!.AccessKeyId!,
    secretAccessKey: assumed.Credentials!.SecretAccessKey!,
    sessionToken: assumed.Credentials!.SessionToken!,
  };
  const who = await new STSClient({ credentials: creds }).send(new GetCallerIdentityCommand({}));
  expect(who.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/${roleName}/ci-session`);

  const kc = await kubeFor(creds);
  await expect(listNamespaces(kc)).rejects.toMatchObject({ code: 401 });

  const core = adminKube(cluster).makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: 'aws-auth', namespace: 'kube-system' });
  cm.data = {
    ...cm.data,
    mapRoles: `${cm.data?.mapRoles ?? ''}- rolearn: ${role.Role!.Arn!}\n  username: ci:{{SessionName}}\n  groups:\n    - system:masters\n`,
  };
  await core.replaceNamespacedConfigMap({ name: 'aws-auth', namespace: 'kube-system', body: cm });

  expect(await listNamespaces(kc)).toContain('default');
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  expect(review.status?.userInfo?.username).toBe('ci:ci-session');
  expect(review.status?.userInfo?.groups).toContain('system:masters');
});
