/** EKS Pod Identity for the controller against moto: association and agent addon, planned, applied, drift shown. */
import {
  DescribeAddonCommand,
  EKSClient,
  ListPodIdentityAssociationsCommand,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import {
  applyPodIdentity,
  planPodIdentity,
  type PodIdentityInput,
} from '../../src/stages/prereqs/pod-identity.ts';
import { deleteCluster, newCluster, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

let restore: () => void;
let cluster: ClusterInfo;
beforeAll(async () => {
  restore = useAwsEnv();
  cluster = await newCluster({ withClusterAutoscaler: false });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  restore();
});

test('association and agent are created once; a repointed association shows as exactly that update', async () => {
  const eks = new EKSClient({});
  const i: PodIdentityInput = {
    cluster: cluster.name,
    namespace: 'kube-system',
    serviceAccount: 'karpenter',
    roleArn: `arn:aws:iam::123456789012:role/${cluster.name}-karpenter`,
    tags: { 'karpenter-action/managed-by': 'karpenter-action' },
  };
  const plan = await planPodIdentity(eks, i);
  expect(plan.map((c) => [c.kind, c.action])).toEqual([
    ['EKS Pod Identity association', 'create'],
    ['EKS addon', 'create'],
  ]);
  for (const c of plan) expect(await applyPodIdentity(eks, i, c)).toMatchObject({ outcome: 'done' });
  // a repeated apply (an interrupted run) duplicates nothing
  for (const c of plan) expect(await applyPodIdentity(eks, i, c)).toMatchObject({ outcome: 'done' });
  const list = await eks.send(
    new ListPodIdentityAssociationsCommand({ clusterName: cluster.name, namespace: 'kube-system' }),
  );
  expect(list.associations).toHaveLength(1);
  expect(
    (
      await eks.send(
        new DescribeAddonCommand({ clusterName: cluster.name, addonName: 'eks-pod-identity-agent' }),
      )
    ).addon?.status,
  ).toBe('ACTIVE');
  expect((await planPodIdentity(eks, i)).map((c) => c.action)).toEqual(['no-op', 'no-op']);

  await eks.send(
    new UpdatePodIdentityAssociationCommand({
      clusterName: cluster.name,
      associationId: list.associations![0]!.associationId,
      roleArn: 'arn:aws:iam::123456789012:role/someone-else',
    }),
  );
  const drift = await planPodIdentity(eks, i);
  expect(drift[0]).toMatchObject({
    action: 'update',
    fieldChanges: [
      {
        path: 'roleArn',
        op: 'change',
        before: 'arn:aws:iam::123456789012:role/someone-else',
        after: i.roleArn,
      },
    ],
  });
  await applyPodIdentity(eks, i, drift[0]!);
  expect((await planPodIdentity(eks, i)).map((c) => c.action)).toEqual(['no-op', 'no-op']);
});
