import { CreateTagsCommand, DescribeTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  ListNodegroupsCommand,
  type Cluster,
  type EKSClient,
} from '@aws-sdk/client-eks';
import type { Change, Finding } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';

export const DISCOVERY_TAG = 'karpenter.sh/discovery';

/** Which subnets and security groups Karpenter discovers: the node groups' subnets and the cluster SG, as the migration guide tags them. */
export async function readDiscoveryTargets(
  eks: EKSClient,
  cluster: string,
  described?: Cluster,
): Promise<{ subnets: string[]; securityGroups: string[] }> {
  const c = described ?? (await eks.send(new DescribeClusterCommand({ name: cluster }))).cluster;
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

type SelectorTerm = { tags?: Record<string, string>; id?: string; name?: string };

/**
 * The tags the discovery targets need so that the EC2NodeClasses' selectors find them: the exact
 * key/value pairs of their tag selector terms (wildcards and id or name terms need no tag), or
 * `karpenter.sh/discovery=<cluster>` when no EC2NodeClass selects by tag.
 */
export function buildDiscoveryTags(
  cluster: string,
  nodeClasses: readonly Record<string, unknown>[],
): { subnets: Record<string, string>; securityGroups: Record<string, string> } {
  const collect = (field: 'subnetSelectorTerms' | 'securityGroupSelectorTerms') => {
    const out: Record<string, string> = {};
    for (const nc of nodeClasses) {
      const terms = ((nc.spec ?? {}) as Record<string, SelectorTerm[] | undefined>)[field] ?? [];
      for (const t of terms) {
        if (t.id || t.name) continue;
        for (const [k, v] of Object.entries(t.tags ?? {})) if (!v.includes('*')) out[k] = v;
      }
    }
    return out;
  };
  const subnets = collect('subnetSelectorTerms');
  const securityGroups = collect('securityGroupSelectorTerms');
  const fallback = { [DISCOVERY_TAG]: cluster };
  if (nodeClasses.length === 0) return { subnets: fallback, securityGroups: fallback };
  return { subnets, securityGroups };
}

const tagRef = (id: string, key: string) => `aws:ec2:tag/${id}/${key}`;

/**
 * Plans the discovery tags on each target. Only adds tags: the subnets and groups belong to the
 * network, not to this action. A target already carrying the key with another value (a subnet shared
 * with another cluster) is left as it is and reported, since changing it would take it from the other
 * cluster's Karpenter.
 */
export async function planDiscoveryTags(
  deps: { ec2: EC2Client },
  targets: readonly { id: string; tags: Record<string, string> }[],
): Promise<{ changes: Change[]; findings: Finding[] }> {
  const wanted = targets.filter((t) => Object.keys(t.tags).length > 0);
  if (wanted.length === 0) return { changes: [], findings: [] };
  const keys = [...new Set(wanted.flatMap((t) => Object.keys(t.tags)))];
  const current = new Map<string, string>();
  let next: string | undefined;
  do {
    const page = await deps.ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: 'resource-id', Values: wanted.map((t) => t.id) },
          { Name: 'key', Values: keys },
        ],
        NextToken: next,
      }),
    );
    for (const t of page.Tags ?? []) current.set(`${t.ResourceId}\u0000${t.Key}`, t.Value ?? '');
    next = page.NextToken;
  } while (next);
  const changes: Change[] = [];
  const findings: Finding[] = [];
  for (const t of wanted) {
    const kind = t.id.startsWith('sg-') ? 'security group tag' : 'subnet tag';
    for (const [key, value] of Object.entries(t.tags)) {
      const ref = tagRef(t.id, key);
      const base = { ref, stage: 'prereqs' as const, kind, name: `${t.id} ${key}` };
      const have = current.get(`${t.id}\u0000${key}`);
      if (have === value) {
        changes.push({ ...base, action: 'no-op', fieldChanges: [], reason: 'tagged' });
      } else if (have === undefined) {
        changes.push({
          ...base,
          action: 'create',
          after: { resource: t.id, key, value },
          fieldChanges: [],
          reason: 'Karpenter discovers it by this tag',
        });
      } else {
        findings.push({
          level: 'warning',
          code: 'discovery-tag-foreign',
          message: `${t.id} is tagged ${key}=${have}, not ${value}; it is left as it is, so Karpenter will not discover it`,
          fix: `if ${t.id} is shared with another cluster, select it in the EC2NodeClass by id or by a tag of its own; otherwise retag it by hand`,
          ref,
        });
      }
    }
  }
  return { changes, findings };
}

export async function applyDiscoveryTag(deps: { ec2: EC2Client }, change: Change): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  const t = change.after as { resource: string; key: string; value: string };
  await deps.ec2.send(
    new CreateTagsCommand({ Resources: [t.resource], Tags: [{ Key: t.key, Value: t.value }] }),
  );
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
