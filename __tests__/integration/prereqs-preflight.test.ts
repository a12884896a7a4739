/** Preflight checks against the sandbox's seeded cluster: each fires on the failure it exists for, and only then. */
import { EC2Client, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { SSMClient } from '@aws-sdk/client-ssm';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient, type KubeObject } from '../../src/adapters/kube.ts';
import {
  checkAmiAliases,
  checkAutoMode,
  checkClusterCapacity,
  checkIamNames,
  checkSelectors,
  type PlannedTags,
} from '../../src/stages/prereqs/preflight.ts';
import { adminKube, deleteCluster, newCluster, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

let restore: () => void;
let cluster: ClusterInfo;
let auto: ClusterInfo;
beforeAll(async () => {
  restore = useAwsEnv();
  [cluster, auto] = await Promise.all([
    newCluster(),
    newCluster({ autoMode: true, withClusterAutoscaler: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([deleteCluster(cluster.name), deleteCluster(auto.name)]);
  restore();
});

const nodeClass = (spec: Record<string, unknown>) => ({
  obj: {
    apiVersion: 'karpenter.k8s.aws/v1',
    kind: 'EC2NodeClass',
    metadata: { name: 'default' },
    spec,
  } as KubeObject,
  file: 'karpenter/nc.yaml',
  line: 1,
});
const describe = async (c: ClusterInfo) =>
  (await new EKSClient({}).send(new DescribeClusterCommand({ name: c.name }))).cluster!;

test('discovery selectors: unresolved now, resolved once the planned tags are counted, one zone warned', async () => {
  const ec2 = new EC2Client({});
  const c = await describe(cluster);
  const byTag = nodeClass({
    subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': cluster.name } }],
    securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': cluster.name } }],
  });
  const before = await checkSelectors(ec2, c, [byTag], new Map());
  expect(before.map((f) => f.code).sort()).toEqual(['security-groups-not-found', 'subnets-not-found']);
  const planned: PlannedTags = new Map(
    [...cluster.subnetIds, cluster.clusterSecurityGroupId].map((id) => [
      id,
      { 'karpenter.sh/discovery': cluster.name },
    ]),
  );
  expect(await checkSelectors(ec2, c, [byTag], planned)).toEqual([]);
  const oneZone = nodeClass({
    subnetSelectorTerms: [{ id: cluster.subnetIds[0] }],
    securityGroupSelectorTerms: [{ id: cluster.clusterSecurityGroupId }],
  });
  expect((await checkSelectors(ec2, c, [oneZone], planned)).map((f) => f.code)).toEqual(['subnets-one-zone']);
  // a subnet of another VPC (moto's default VPC) does not count
  const other = (
    await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))
  ).Subnets![0]!.SubnetId!;
  const wrongVpc = nodeClass({
    subnetSelectorTerms: [{ id: other }],
    securityGroupSelectorTerms: [{ id: cluster.clusterSecurityGroupId }],
  });
  expect((await checkSelectors(ec2, c, [wrongVpc], planned)).map((f) => f.code)).toEqual([
    'subnets-not-found',
  ]);
});

test('AMI aliases resolve through SSM for the cluster version; unpublished releases are errors, @latest a warning', async () => {
  const ssm = new SSMClient({});
  const ec2 = new EC2Client({});
  expect(
    await checkAmiAliases(ssm, ec2, '1.36', [
      nodeClass({ amiSelectorTerms: [{ alias: 'al2023@v20260101' }] }),
    ]),
  ).toEqual([]);
  const missing = await checkAmiAliases(ssm, ec2, '1.36', [
    nodeClass({ amiSelectorTerms: [{ alias: 'al2023@v20990101' }] }),
  ]);
  expect(missing.map((f) => [f.level, f.code])).toEqual([['error', 'ami-alias-unresolved']]);
  const latest = await checkAmiAliases(ssm, ec2, '1.36', [
    nodeClass({ amiSelectorTerms: [{ alias: 'bottlerocket@latest' }] }),
  ]);
  expect(latest.map((f) => [f.level, f.code])).toEqual([['warning', 'ami-alias-latest']]);
});

test('EKS Auto Mode clusters are refused; a normal cluster is not', async () => {
  expect(checkAutoMode(await describe(auto)).map((f) => f.code)).toEqual(['eks-auto-mode']);
  expect(checkAutoMode(await describe(cluster))).toEqual([]);
});

test('Cluster Autoscaler running is reported; controller capacity needs non-Karpenter nodes in two zones', async () => {
  const kube = new KubeClient(new KubeHttp(adminKube(cluster)));
  expect((await checkClusterCapacity(kube)).map((f) => f.code)).toEqual(['cluster-autoscaler-running']);
  // label two of the three nodes as Karpenter's: one node in one zone is left for the controller
  const http = new KubeHttp(adminKube(cluster));
  for (const n of cluster.nodeNames.slice(1)) {
    await http.request('PATCH', `/api/v1/nodes/${n}`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { 'karpenter.sh/nodepool': 'default' } } },
    });
  }
  expect((await checkClusterCapacity(kube)).map((f) => f.code)).toEqual([
    'cluster-autoscaler-running',
    'controller-capacity',
  ]);
});

test('IAM names over 64 characters are errors', () => {
  expect(checkIamNames(['KarpenterNodeRole-short'])).toEqual([]);
  expect(checkIamNames([`KarpenterNodeRole-${'x'.repeat(47)}`]).map((f) => f.code)).toEqual([
    'iam-name-too-long',
  ]);
});
