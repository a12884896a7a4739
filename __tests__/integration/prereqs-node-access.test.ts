/**
 * Node access for Karpenter's nodes against the sandbox's EKS emulation: an EC2_LINUX access entry
 * when the cluster allows access entries, else a merge into aws-auth that keeps every existing entry
 * and survives a concurrent edit (injected between the action's read and its write).
 */
import { DescribeAccessEntryCommand, CreateAccessEntryCommand, EKSClient } from '@aws-sdk/client-eks';
import { parse } from 'yaml';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient, type KubeObject, type KubePort, type KubeResource } from '../../src/adapters/kube.ts';
import { CONFIGMAPS } from '../../src/adapters/kube-resources.ts';
import {
  applyNodeAccess,
  planNodeAccess,
  type NodeAccessInput,
} from '../../src/stages/prereqs/node-access.ts';
import { adminKube, deleteCluster, newCluster, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

let restore: () => void;
let apiCluster: ClusterInfo;
let mapCluster: ClusterInfo;
beforeAll(async () => {
  restore = useAwsEnv();
  [apiCluster, mapCluster] = await Promise.all([
    newCluster({ authenticationMode: 'API_AND_CONFIG_MAP', withClusterAutoscaler: false }),
    newCluster({ authenticationMode: 'CONFIG_MAP', withClusterAutoscaler: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([deleteCluster(apiCluster.name), deleteCluster(mapCluster.name)]);
  restore();
});

const input = (
  c: ClusterInfo,
  mode: string,
  method: NodeAccessInput['method'] = 'auto',
): NodeAccessInput => ({
  cluster: c.name,
  authenticationMode: mode,
  nodeRoleArn: `arn:aws:iam::123456789012:role/KarpenterNodeRole-${c.name}`,
  method,
  tags: { 'karpenter-action/managed-by': 'karpenter-action' },
});

test('an API cluster gets an EC2_LINUX access entry, once', async () => {
  const eks = new EKSClient({});
  const kube = new KubeClient(new KubeHttp(adminKube(apiCluster)));
  const i = input(apiCluster, 'API_AND_CONFIG_MAP');
  const plan = await planNodeAccess({ eks, kube }, i);
  expect(plan.findings).toEqual([]);
  expect(plan.changes.map((c) => [c.kind, c.action])).toEqual([['EKS access entry', 'create']]);
  expect(await applyNodeAccess({ eks, kube }, i, plan.changes[0]!)).toMatchObject({ outcome: 'done' });
  const entry = (
    await eks.send(
      new DescribeAccessEntryCommand({ clusterName: apiCluster.name, principalArn: i.nodeRoleArn }),
    )
  ).accessEntry;
  expect(entry).toMatchObject({
    type: 'EC2_LINUX',
    username: 'system:node:{{EC2PrivateDNSName}}',
    kubernetesGroups: ['system:nodes'],
  });
  expect(entry?.tags).toEqual({ 'karpenter-action/managed-by': 'karpenter-action' });
  const again = await planNodeAccess({ eks, kube }, i);
  expect(again.changes.map((c) => c.action)).toEqual(['no-op']);
  // applying the same change twice (an interrupted run repeated) is harmless
  expect(await applyNodeAccess({ eks, kube }, i, plan.changes[0]!)).toMatchObject({ outcome: 'done' });
});

test('a STANDARD entry for the node role is an error with the fix', async () => {
  const eks = new EKSClient({});
  const kube = new KubeClient(new KubeHttp(adminKube(apiCluster)));
  const i = {
    ...input(apiCluster, 'API_AND_CONFIG_MAP'),
    nodeRoleArn: `arn:aws:iam::123456789012:role/standard-${apiCluster.name}`,
  };
  await eks.send(
    new CreateAccessEntryCommand({
      clusterName: apiCluster.name,
      principalArn: i.nodeRoleArn,
      type: 'STANDARD',
    }),
  );
  const plan = await planNodeAccess({ eks, kube }, i);
  expect(plan.findings).toEqual([
    expect.objectContaining({ level: 'error', code: 'node-access-entry-type' }),
  ]);
});

test('asking for an access entry on a CONFIG_MAP cluster is an error that says how to switch modes', async () => {
  const eks = new EKSClient({});
  const kube = new KubeClient(new KubeHttp(adminKube(mapCluster)));
  const plan = await planNodeAccess({ eks, kube }, input(mapCluster, 'CONFIG_MAP', 'access-entry'));
  expect(plan.findings[0]).toMatchObject({ level: 'error', code: 'node-access-mode' });
  expect(plan.findings[0]!.fix).toContain('API_AND_CONFIG_MAP');
});

/** The real client, with one write by someone else slipped in just before the action's first aws-auth write. */
class ConcurrentEditor implements KubePort {
  readonly http: KubeHttp;
  private injected = false;
  private readonly real: KubeClient;
  private readonly other: KubeClient;
  constructor(real: KubeClient, other: KubeClient) {
    this.real = real;
    this.http = real.http;
    this.other = other;
  }
  list(res: KubeResource, opts?: { namespace?: string; labelSelector?: string }) {
    return this.real.list(res, opts);
  }
  get(res: KubeResource, name: string, ns?: string) {
    return this.real.get(res, name, ns);
  }
  apply(res: KubeResource, obj: KubeObject, opts: { dryRun: boolean }) {
    return this.real.apply(res, obj, opts);
  }
  create(res: KubeResource, obj: KubeObject) {
    return this.real.create(res, obj);
  }
  delete(res: KubeResource, name: string, opts: { namespace?: string; uid?: string; dryRun?: boolean }) {
    return this.real.delete(res, name, opts);
  }
  async replace(res: KubeResource, obj: KubeObject) {
    if (!this.injected && obj.metadata?.name === 'aws-auth') {
      this.injected = true;
      const cur = (await this.other.get(CONFIGMAPS, 'aws-auth', 'kube-system'))!;
      const data = cur.data as Record<string, string>;
      data.mapRoles = `${data.mapRoles}- rolearn: arn:aws:iam::123456789012:role/added-meanwhile\n  username: meanwhile\n  groups: [viewers]\n`;
      await this.other.replace(CONFIGMAPS, cur);
    }
    return this.real.replace(res, obj);
  }
}

test('a CONFIG_MAP cluster gets the aws-auth mapping; a concurrent edit during apply survives', async () => {
  const eks = new EKSClient({});
  const admin = new KubeClient(new KubeHttp(adminKube(mapCluster)));
  const kube = new ConcurrentEditor(new KubeClient(new KubeHttp(adminKube(mapCluster))), admin);
  const i = input(mapCluster, 'CONFIG_MAP');
  const plan = await planNodeAccess({ eks, kube }, i);
  expect(plan.changes.map((c) => [c.kind, c.action])).toEqual([['aws-auth mapping', 'create']]);
  const result = await applyNodeAccess({ eks, kube }, i, plan.changes[0]!);
  expect(result).toMatchObject({ outcome: 'done', message: 'merged after 1 concurrent edit(s)' });
  const cm = (await admin.get(CONFIGMAPS, 'aws-auth', 'kube-system'))!;
  const roles = (parse((cm.data as Record<string, string>).mapRoles ?? '') as { rolearn: string }[]).map(
    (r) => r.rolearn,
  );
  expect(roles).toEqual([
    mapCluster.nodeRoleArn,
    'arn:aws:iam::123456789012:role/added-meanwhile',
    i.nodeRoleArn,
  ]);
  expect((await planNodeAccess({ eks, kube: admin }, i)).changes.map((c) => c.action)).toEqual(['no-op']);
});
