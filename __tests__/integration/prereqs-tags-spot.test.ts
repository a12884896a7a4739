/** Discovery tags and the Spot service-linked role against moto, planned then applied, then planned empty. */
import { CreateTagsCommand, DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import {
  applyDiscoveryTag,
  planDiscoveryTags,
  readDiscoveryTargets,
} from '../../src/stages/prereqs/discovery-tags.ts';
import { applySpotRole, planSpotRole } from '../../src/stages/prereqs/spot-role.ts';
import { withAccount } from '../../sandbox/lib/aws.ts';
import { deleteCluster, newCluster, ownAccount, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

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

test('the node groups subnets and the cluster security group get the discovery tag; a foreign value is corrected', async () => {
  const ec2 = new EC2Client({});
  const targets = await readDiscoveryTargets(new EKSClient({}), cluster.name);
  expect(targets).toEqual({
    subnets: [...cluster.subnetIds].sort(),
    securityGroups: [cluster.clusterSecurityGroupId],
  });
  await ec2.send(
    new CreateTagsCommand({
      Resources: [cluster.subnetIds[0]!],
      Tags: [{ Key: 'karpenter.sh/discovery', Value: 'other' }],
    }),
  );
  const plan = await planDiscoveryTags({ ec2 }, cluster.name, targets);
  expect(plan.map((c) => c.action).sort()).toEqual(['create', 'create', 'create', 'update']);
  expect(plan.find((c) => c.action === 'update')?.reason).toContain('"other"');
  for (const c of plan) await applyDiscoveryTag({ ec2 }, cluster.name, c);
  const tags = await ec2.send(
    new DescribeTagsCommand({
      Filters: [
        { Name: 'key', Values: ['karpenter.sh/discovery'] },
        { Name: 'value', Values: [cluster.name] },
      ],
    }),
  );
  expect(tags.Tags?.map((t) => t.ResourceId).sort()).toEqual(
    [...targets.subnets, ...targets.securityGroups].sort(),
  );
  expect((await planDiscoveryTags({ ec2 }, cluster.name, targets)).every((c) => c.action === 'no-op')).toBe(
    true,
  );
});

test('the Spot role is planned only when needed, created once, and a second create counts as done', async () => {
  // account-wide state: an account of this test's own
  const iam = withAccount(new IAMClient({ maxAttempts: 1 }), ownAccount());
  expect(await planSpotRole(iam, false)).toEqual([]);
  const plan = await planSpotRole(iam, true);
  expect(plan.map((c) => c.action)).toEqual(['create']);
  expect(await applySpotRole(iam, plan[0]!)).toMatchObject({ outcome: 'done' });
  expect(await applySpotRole(iam, plan[0]!)).toMatchObject({ outcome: 'done', message: 'already existed' });
  expect((await planSpotRole(iam, true)).map((c) => c.action)).toEqual(['no-op']);
});
