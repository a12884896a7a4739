import { CreateTagsCommand, DescribeTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  ListNodegroupsCommand,
  type EKSClient,
} from '@aws-sdk/client-eks';
import type { Change } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';

export const DISCOVERY_TAG = 'karpenter.sh/discovery';

/** Which subnets and security groups Karpenter discovers: the node groups' subnets and the cluster SG, as the migration guide tags them. */
export async function readDiscoveryTargets(
  eks: EKSClient,
  cluster: string,
): Promise<{ subnets: string[]; securityGroups: string[] }> {
  const c = (await eks.send(new DescribeClusterCommand({ name: cluster }))).cluster;
  const subnets = new Set<string>();
  let next: string | undefined;
  do {
    const page = await eks.send(new ListNodegroupsCommand({ clusterName: cluster, nextToken: next }));
    for (const ng of page.nodegroups ?? []) {
      const d = (await eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: ng })))
        .nodegroup;
      for (const s of d?.subnets ?? []) subnets.add(s);
    }
    next = page.nextToken;
  } while (next);
  const sg = c?.resourcesVpcConfig?.clusterSecurityGroupId;
  return { subnets: [...subnets].sort(), securityGroups: sg ? [sg] : [] };
}

/**
 * Plans the `karpenter.sh/discovery=<cluster>` tag on each target. Only adds or corrects the tag; it
 * never removes a tag, since the subnets and groups belong to the network, not to this action.
 */
export async function planDiscoveryTags(
  deps: { ec2: EC2Client },
  cluster: string,
  targets: { subnets: string[]; securityGroups: string[] },
): Promise<Change[]> {
  const ids = [...targets.subnets, ...targets.securityGroups];
  if (ids.length === 0) return [];
  const current = new Map<string, string>();
  let next: string | undefined;
  do {
    const page = await deps.ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: 'resource-id', Values: ids },
          { Name: 'key', Values: [DISCOVERY_TAG] },
        ],
        NextToken: next,
      }),
    );
    for (const t of page.Tags ?? []) if (t.ResourceId) current.set(t.ResourceId, t.Value ?? '');
    next = page.NextToken;
  } while (next);
  return ids.map((id): Change => {
    const kind = id.startsWith('sg-') ? 'security group tag' : 'subnet tag';
    const ref = `aws:ec2:tag/${id}/${DISCOVERY_TAG}`;
    const have = current.get(id);
    const after = { [DISCOVERY_TAG]: cluster };
    if (have === cluster)
      return { ref, stage: 'prereqs', kind, name: id, action: 'no-op', fieldChanges: [], reason: 'tagged' };
    if (have === undefined) {
      return {
        ref,
        stage: 'prereqs',
        kind,
        name: id,
        action: 'create',
        after,
        fieldChanges: [],
        reason: 'Karpenter discovers it by this tag',
      };
    }
    return {
      ref,
      stage: 'prereqs',
      kind,
      name: id,
      action: 'update',
      before: { [DISCOVERY_TAG]: have },
      after,
      fieldChanges: [{ path: DISCOVERY_TAG, op: 'change', before: have, after: cluster }],
      reason: `tagged for another cluster ("${have}")`,
    };
  });
}

export async function applyDiscoveryTag(
  deps: { ec2: EC2Client },
  cluster: string,
  change: Change,
): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  await deps.ec2.send(
    new CreateTagsCommand({ Resources: [change.name], Tags: [{ Key: DISCOVERY_TAG, Value: cluster }] }),
  );
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
