import {
  DescribeImagesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import type { Cluster } from '@aws-sdk/client-eks';
import { GetParameterCommand, ParameterNotFound, type SSMClient } from '@aws-sdk/client-ssm';
import type { KubeObject, KubePort } from '../../adapters/kube.ts';
import { DEPLOYMENTS, NODES } from '../../adapters/kube-resources.ts';
import type { Finding } from '../../plan/model.ts';

type Term = { tags?: Record<string, string>; id?: string; name?: string };

/** EC2 filters for one selector term; `*` as a tag value means "any value", as in Karpenter. */
function termFilters(term: Term, vpcId: string | undefined): Filter[] | undefined {
  const filters: Filter[] = vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [];
  if (term.id)
    filters.push({ Name: term.id.startsWith('sg-') ? 'group-id' : 'subnet-id', Values: [term.id] });
  if (term.name) filters.push({ Name: 'group-name', Values: [term.name] });
  for (const [k, v] of Object.entries(term.tags ?? {})) {
    filters.push(v === '*' ? { Name: 'tag-key', Values: [k] } : { Name: `tag:${k}`, Values: [v] });
  }
  return filters;
}

/** Tags the plan is about to add: the selectors are judged as they will be once prereqs are applied. */
export type PlannedTags = Map<string, Record<string, string>>;

function matchesPlanned(term: Term, id: string, planned: PlannedTags): boolean {
  const tags = planned.get(id);
  if (!tags || term.id || term.name) return false;
  return Object.entries(term.tags ?? {}).every(([k, v]) => (v === '*' ? k in tags : tags[k] === v));
}

/**
 * Every EC2NodeClass's subnet and security-group selectors must find something in the cluster's VPC,
 * and the subnets must span at least two zones; otherwise its NodePools stay unready
 * (`SubnetsReady=False SubnetsNotFound`) and no node launches.
 */
export async function checkSelectors(
  ec2: EC2Client,
  cluster: Cluster,
  nodeClasses: { obj: KubeObject; file: string; line: number }[],
  planned: PlannedTags,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const vpcId = cluster.resourcesVpcConfig?.vpcId;
  for (const nc of nodeClasses) {
    const name = String(nc.obj.metadata?.name);
    const spec = (nc.obj.spec ?? {}) as { subnetSelectorTerms?: Term[]; securityGroupSelectorTerms?: Term[] };
    const subnets = new Map<string, string>();
    for (const term of spec.subnetSelectorTerms ?? []) {
      const res = await ec2.send(new DescribeSubnetsCommand({ Filters: termFilters(term, vpcId) }));
      for (const s of res.Subnets ?? []) subnets.set(s.SubnetId!, s.AvailabilityZone ?? '');
      if (term.tags && !term.id) {
        const all = await ec2.send(
          new DescribeSubnetsCommand({ Filters: vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [] }),
        );
        for (const s of all.Subnets ?? [])
          if (matchesPlanned(term, s.SubnetId!, planned)) subnets.set(s.SubnetId!, s.AvailabilityZone ?? '');
      }
    }
    const groups = new Set<string>();
    for (const term of spec.securityGroupSelectorTerms ?? []) {
      const res = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: termFilters(term, vpcId) }));
      for (const g of res.SecurityGroups ?? []) groups.add(g.GroupId!);
      if (term.tags && !term.id && !term.name) {
        const all = await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [] }),
        );
        for (const g of all.SecurityGroups ?? [])
          if (matchesPlanned(term, g.GroupId!, planned)) groups.add(g.GroupId!);
      }
    }
    const source = { file: nc.file, line: nc.line };
    const zones = new Set(subnets.values());
    if (subnets.size === 0) {
      findings.push({
        level: 'error',
        code: 'subnets-not-found',
        message:
          `EC2NodeClass ${name}: subnetSelectorTerms match no subnet in the cluster's VPC ${vpcId ?? ''}`.trim(),
        fix: "tag the node subnets karpenter.sh/discovery=<cluster> (prereqs does this for the node groups' subnets) or fix the selector",
        source,
      });
    } else if (zones.size < 2) {
      findings.push({
        level: 'warning',
        code: 'subnets-one-zone',
        message: `EC2NodeClass ${name}: its subnets are all in ${[...zones].join(', ')}; one zone outage stops every launch`,
        fix: 'select subnets in at least two availability zones',
        source,
      });
    }
    if (groups.size === 0) {
      findings.push({
        level: 'error',
        code: 'security-groups-not-found',
        message: `EC2NodeClass ${name}: securityGroupSelectorTerms match no security group in the cluster's VPC`,
        fix: 'tag the cluster security group karpenter.sh/discovery=<cluster> (prereqs does this) or fix the selector',
        source,
      });
    }
  }
  return findings;
}

/** The SSM parameter Karpenter resolves for an AMI alias (al2023, al2, bottlerocket), per architecture. */
export function aliasParameter(alias: string, k8s: string, arch: 'x86_64' | 'arm64'): string | undefined {
  const m = /^([a-z0-9]+)@(.+)$/.exec(alias);
  if (!m) return undefined;
  const [, family, version] = m as unknown as [string, string, string];
  if (family === 'al2023') {
    return version === 'latest'
      ? `/aws/service/eks/optimized-ami/${k8s}/amazon-linux-2023/${arch}/standard/recommended/image_id`
      : `/aws/service/eks/optimized-ami/${k8s}/amazon-linux-2023/${arch}/standard/amazon-eks-node-al2023-${arch}-standard-${k8s}-${version}/image_id`;
  }
  if (family === 'al2') {
    const variant = arch === 'arm64' ? 'amazon-linux-2-arm64' : 'amazon-linux-2';
    return version === 'latest'
      ? `/aws/service/eks/optimized-ami/${k8s}/${variant}/recommended/image_id`
      : `/aws/service/eks/optimized-ami/${k8s}/${variant}/amazon-eks-node-${k8s}-${version}/image_id`;
  }
  if (family === 'bottlerocket') {
    return `/aws/service/bottlerocket/aws-k8s-${k8s}/${arch}/${version === 'latest' ? 'latest' : version.replace(/^v/, '')}/image_id`;
  }
  return undefined;
}

/**
 * Every AMI alias must resolve for the cluster's Kubernetes version: a pinned release that AWS never
 * published for this version (typical right after a control-plane upgrade) leaves the EC2NodeClass
 * `AMIsReady=False AMINotFound`.
 */
export async function checkAmiAliases(
  ssm: SSMClient,
  ec2: EC2Client,
  k8sVersion: string,
  nodeClasses: { obj: KubeObject; file: string; line: number }[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const nc of nodeClasses) {
    const terms = ((nc.obj.spec ?? {}) as { amiSelectorTerms?: { alias?: string }[] }).amiSelectorTerms ?? [];
    for (const t of terms) {
      if (!t.alias) continue;
      const source = { file: nc.file, line: nc.line };
      if (t.alias.endsWith('@latest')) {
        findings.push({
          level: 'warning',
          code: 'ami-alias-latest',
          message: `EC2NodeClass ${String(nc.obj.metadata?.name)} uses ${t.alias}: every new AMI release drifts and replaces all its nodes`,
          fix: 'pin a release, e.g. al2023@v20260101, and move it forward through pull requests',
          source,
        });
      }
      const path = aliasParameter(t.alias, k8sVersion, 'x86_64');
      if (!path) continue;
      try {
        const id = (await ssm.send(new GetParameterCommand({ Name: path }))).Parameter?.Value;
        const img = id ? await ec2.send(new DescribeImagesCommand({ ImageIds: [id] })) : undefined;
        if (!img?.Images?.length) throw new Error(`image ${id ?? '?'} not found`);
      } catch (e) {
        if (!(e instanceof ParameterNotFound) && !(e instanceof Error && /not found/.test(e.message)))
          throw e;
        findings.push({
          level: 'error',
          code: 'ami-alias-unresolved',
          message: `EC2NodeClass ${String(nc.obj.metadata?.name)}: alias ${t.alias} has no AMI for Kubernetes ${k8sVersion} (${path})`,
          fix: 'pick a release published for this Kubernetes version, or @latest',
          source,
        });
      }
    }
  }
  return findings;
}

/** EKS Auto Mode runs an AWS-managed Karpenter that shares the karpenter.sh CRDs; installing another breaks both. */
export function checkAutoMode(cluster: Cluster): Finding[] {
  if (!cluster.computeConfig?.enabled) return [];
  return [
    {
      level: 'error',
      code: 'eks-auto-mode',
      message: `cluster ${cluster.name ?? ''} runs EKS Auto Mode, whose managed Karpenter shares nodepools.karpenter.sh and nodeclaims.karpenter.sh`,
      fix: "do not install self-managed Karpenter CRDs or controller on an Auto Mode cluster; follow AWS's Karpenter-to-Auto-Mode migration instead",
    },
  ];
}

/** IAM role names are at most 64 characters, policy names 128; long cluster names overflow `KarpenterNodeRole-<cluster>`. */
export function checkIamNames(names: string[], max = 64, what = 'IAM name'): Finding[] {
  return names
    .filter((n) => n.length > max)
    .map((n) => ({
      level: 'error' as const,
      code: 'iam-name-too-long',
      message: `${what} ${n} has ${n.length} characters; IAM allows ${max}`,
      fix: 'set prereqs.nodeRoleName / prereqs.controllerRoleName to shorter names',
    }));
}

/** A Cluster Autoscaler Deployment, by name or by the labels its chart and the AWS guide give it. */
export function isClusterAutoscaler(d: KubeObject): boolean {
  const labels = d.metadata?.labels ?? {};
  return (
    d.metadata?.name === 'cluster-autoscaler' ||
    labels['app.kubernetes.io/name'] === 'cluster-autoscaler' ||
    labels['app.kubernetes.io/name'] === 'aws-cluster-autoscaler'
  );
}

/**
 * A running Cluster Autoscaler fights Karpenter over the same pending pods, and the controller needs
 * non-Karpenter capacity in two zones (its two replicas spread across zones and never run on nodes it
 * launches).
 */
export async function checkClusterCapacity(kube: KubePort): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const d of await kube.list(DEPLOYMENTS)) {
    const isCas = isClusterAutoscaler(d);
    const replicas = (d.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    if (isCas && replicas > 0) {
      findings.push({
        level: 'warning',
        code: 'cluster-autoscaler-running',
        message: `Cluster Autoscaler runs (${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}, ${replicas} replica${replicas === 1 ? '' : 's'}); with Karpenter both act on the same pending pods`,
        fix: 'enable the migration in the config to scale it to zero once Karpenter is verified, or scale it down yourself',
      });
    }
  }
  const zones = new Set<string>();
  let count = 0;
  for (const n of await kube.list(NODES)) {
    const labels = n.metadata?.labels ?? {};
    if ('karpenter.sh/nodepool' in labels) continue;
    count++;
    const z = labels['topology.kubernetes.io/zone'];
    if (z) zones.add(z);
  }
  if (count < 2 || zones.size < 2) {
    findings.push({
      level: 'warning',
      code: 'controller-capacity',
      message: `only ${count} node${count === 1 ? '' : 's'} not launched by Karpenter, in ${zones.size} zone${zones.size === 1 ? '' : 's'}; Karpenter's two replicas need nodes in two zones they do not manage`,
      fix: 'keep a managed node group (or Fargate profile) spanning at least two zones for the controller',
    });
  }
  return findings;
}
