/** Discovery tags and the Spot service-linked role against moto, planned then applied, then planned empty. */
import { CreateTagsCommand, DescribeTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import {
  applyDiscoveryTag,
  buildDiscoveryTags,
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

test('the node groups subnets and the cluster security group get the discovery tag; a foreign value is left alone and reported', async () => {
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
  const want = [...targets.subnets, ...targets.securityGroups].map((id) => ({
    id,
    tags: { 'karpenter.sh/discovery': cluster.name },
  }));
  const plan = await planDiscoveryTags({ ec2 }, want);
  expect(plan.changes.map((c) => c.action)).toEqual(['create', 'create', 'create']);
  expect(plan.changes.map((c) => c.name)).not.toContain(`${cluster.subnetIds[0]!} karpenter.sh/discovery`);
  expect(plan.findings).toEqual([
    expect.objectContaining({ level: 'warning', code: 'discovery-tag-foreign' }),
  ]);
  expect(plan.findings[0]!.message).toContain('=other');
  for (const c of plan.changes) await applyDiscoveryTag({ ec2 }, c);
  const tags = await ec2.send(
    new DescribeTagsCommand({
      Filters: [
        { Name: 'resource-id', Values: want.map((w) => w.id) },
        { Name: 'key', Values: ['karpenter.sh/discovery'] },
      ],
    }),
  );
  expect(Object.fromEntries(tags.Tags!.map((t) => [t.ResourceId, t.Value]))).toEqual(
    Object.fromEntries(want.map((w) => [w.id, w.id === cluster.subnetIds[0] ? 'other' : cluster.name])),
  );
  const again = await planDiscoveryTags({ ec2 }, want);
  expect(again.changes.every((c) => c.action === 'no-op')).toBe(true);
  expect(again.findings).toHaveLength(1);
});

test('the tags come from the EC2NodeClasses tag selectors, and default to the discovery tag', () => {
  expect(buildDiscoveryTags('c1', [])).toEqual({
    subnets: { 'karpenter.sh/discovery': 'c1' },
    securityGroups: { 'karpenter.sh/discovery': 'c1' },
  });
  const nc = {
    spec: {
      subnetSelectorTerms: [{ tags: { 'team/subnets': 'private', Name: '*private*' } }, { id: 'subnet-1' }],
      securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'c1' } }, { name: 'default' }],
    },
  };
  expect(buildDiscoveryTags('c1', [nc])).toEqual({
    subnets: { 'team/subnets': 'private' },
    securityGroups: { 'karpenter.sh/discovery': 'c1' },
  });
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
