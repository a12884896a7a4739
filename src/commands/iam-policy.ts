import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { FIELD_MANAGER, type KubeObject } from '../adapters/kube.ts';
import { loadConfig, selectCluster, type ClusterConfig } from '../config/load.ts';
import { loadManifests } from '../config/manifests.ts';
import { renderIssue } from '../config/issues.ts';
import { Refusal } from '../errors.ts';
import {
  buildSubjectCondition,
  checkIdFlags,
  describeSubjectFormat,
  parseSubjectCustomization,
  subjectFormatFromIds,
  type SubjectFormat,
} from './oidc-subject.ts';
import { buildPrereqsDesired } from '../stages/prereqs.ts';
import type { RoleMapping } from '../stages/prereqs/aws-auth.ts';
import { buildDiscoveryTags, DISCOVERY_TAG } from '../stages/prereqs/discovery-tags.ts';
import {
  buildPlannerObjects,
  PLANNER_GROUP,
  PLANNER_POLICY,
  PLANNER_ROLE,
  PLANNER_USERNAME,
  POLICY_MIN_KUBERNETES,
} from '../stages/prereqs/planner-access.ts';
import { POD_IDENTITY_AGENT } from '../stages/prereqs/pod-identity.ts';
import { SPOT_ROLE } from '../stages/prereqs/spot-role.ts';
import { buildInterruptionRules, type PolicyDocument, type PolicyStatement } from '../versions/index.ts';

/** The ARNs and names one cluster's config gives the action's AWS resources, as the policies scope them. */
export interface IamPolicyContext {
  partition: string;
  account: string;
  region: string;
  cluster: ClusterConfig;
  clusterArn: string;
  nodeRoleArn: string;
  controllerRoleArn: string;
  controllerPolicyArns: string[];
  nodeManagedPolicyArns: string[];
  queueArn: string;
  ruleArns: string[];
  spotRoleArn: string;
  /** The tag keys the prereqs stage may put on subnets and security groups. */
  discoveryTagKeys: string[];
}

type Condition = NonNullable<PolicyStatement['Condition']>;

/** One IAM action the action's AWS calls need, with the SDK command that needs it. */
export interface AwsAction {
  action: string;
  /** `client-<service>:<Name>Command`, as imported from `@aws-sdk/client-<service>`. */
  sdk: string;
  access: 'read' | 'write';
  resource: (ctx: IamPolicyContext) => string[];
  condition?: (ctx: IamPolicyContext) => Condition;
  /** Whether this cluster's config ever sends the call; absent means always. */
  when?: (ctx: IamPolicyContext) => boolean;
}

/**
 * SDK commands that need no IAM permission: STS answers GetCallerIdentity for any caller, and
 * AssumeRoleWithWebIdentity is authorized by the assumed role's trust policy, not by the caller.
 */
export const NO_PERMISSION_COMMANDS: readonly string[] = [
  'client-sts:GetCallerIdentityCommand',
  'client-sts:AssumeRoleWithWebIdentityCommand',
];

const ALL = () => ['*'];
const arn = (ctx: IamPolicyContext, service: string, resource: string, global = false) =>
  `arn:${ctx.partition}:${service}:${global ? '' : ctx.region}:${ctx.account}:${resource}`;
const eksSub = (ctx: IamPolicyContext, kind: string, rest: string) =>
  arn(ctx, 'eks', `${kind}/${ctx.cluster.cluster}/${rest}`);
const roles = (ctx: IamPolicyContext) => [ctx.nodeRoleArn, ctx.controllerRoleArn];
const policies = (ctx: IamPolicyContext) => ctx.controllerPolicyArns;
const addonArn = (ctx: IamPolicyContext) => eksSub(ctx, 'addon', `${POD_IDENTITY_AGENT}/*`);
const associationArn = (ctx: IamPolicyContext) => eksSub(ctx, 'podidentityassociation', '*');
const accessEntryArn = (ctx: IamPolicyContext) => eksSub(ctx, 'access-entry', '*');
const nodegroupArn = (ctx: IamPolicyContext) => eksSub(ctx, 'nodegroup', '*');
const oidcProviderArn = (ctx: IamPolicyContext) =>
  arn(ctx, 'iam', `oidc-provider/oidc.eks.${ctx.region}.amazonaws.com/id/*`, true);
const podIdentity = (ctx: IamPolicyContext) => ctx.cluster.prereqs.identity === 'pod-identity';
const irsa = (ctx: IamPolicyContext) => ctx.cluster.prereqs.identity === 'irsa';
const accessEntries = (ctx: IamPolicyContext) => ctx.cluster.prereqs.nodeAccess !== 'aws-auth';

/**
 * Every IAM action behind every AWS call the action makes, so the plan and apply roles can be
 * written from data instead of from reading the code. A test scans `src/` for SDK commands and fails
 * when one is missing here. Reads are what a plan needs; the apply role gets reads and writes.
 */
export const AWS_ACTIONS: readonly AwsAction[] = [
  {
    action: 'eks:DescribeCluster',
    sdk: 'client-eks:DescribeClusterCommand',
    access: 'read',
    resource: (c) => [c.clusterArn],
  },
  {
    action: 'eks:ListNodegroups',
    sdk: 'client-eks:ListNodegroupsCommand',
    access: 'read',
    resource: (c) => [c.clusterArn],
  },
  {
    action: 'eks:DescribeNodegroup',
    sdk: 'client-eks:DescribeNodegroupCommand',
    access: 'read',
    resource: (c) => [nodegroupArn(c)],
  },
  {
    action: 'eks:DescribeAddon',
    sdk: 'client-eks:DescribeAddonCommand',
    access: 'read',
    resource: (c) => [addonArn(c)],
  },
  {
    action: 'eks:DescribeAccessEntry',
    sdk: 'client-eks:DescribeAccessEntryCommand',
    access: 'read',
    resource: (c) => [accessEntryArn(c)],
  },
  {
    action: 'eks:ListPodIdentityAssociations',
    sdk: 'client-eks:ListPodIdentityAssociationsCommand',
    access: 'read',
    resource: (c) => [c.clusterArn],
  },
  {
    action: 'eks:DescribePodIdentityAssociation',
    sdk: 'client-eks:DescribePodIdentityAssociationCommand',
    access: 'read',
    resource: (c) => [associationArn(c)],
  },
  {
    action: 'iam:GetRole',
    sdk: 'client-iam:GetRoleCommand',
    access: 'read',
    resource: (c) => [...roles(c), c.spotRoleArn],
  },
  {
    action: 'iam:ListAttachedRolePolicies',
    sdk: 'client-iam:ListAttachedRolePoliciesCommand',
    access: 'read',
    resource: roles,
  },
  { action: 'iam:GetPolicy', sdk: 'client-iam:GetPolicyCommand', access: 'read', resource: policies },
  {
    action: 'iam:GetPolicyVersion',
    sdk: 'client-iam:GetPolicyVersionCommand',
    access: 'read',
    resource: policies,
  },
  {
    action: 'iam:ListPolicyVersions',
    sdk: 'client-iam:ListPolicyVersionsCommand',
    access: 'read',
    resource: policies,
  },
  {
    action: 'iam:ListOpenIDConnectProviders',
    sdk: 'client-iam:ListOpenIDConnectProvidersCommand',
    access: 'read',
    resource: ALL,
  },
  {
    action: 'sqs:GetQueueUrl',
    sdk: 'client-sqs:GetQueueUrlCommand',
    access: 'read',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'sqs:GetQueueAttributes',
    sdk: 'client-sqs:GetQueueAttributesCommand',
    access: 'read',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'sqs:ListQueueTags',
    sdk: 'client-sqs:ListQueueTagsCommand',
    access: 'read',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'events:DescribeRule',
    sdk: 'client-eventbridge:DescribeRuleCommand',
    access: 'read',
    resource: (c) => c.ruleArns,
  },
  {
    action: 'events:ListTargetsByRule',
    sdk: 'client-eventbridge:ListTargetsByRuleCommand',
    access: 'read',
    resource: (c) => c.ruleArns,
  },
  {
    action: 'events:ListTagsForResource',
    sdk: 'client-eventbridge:ListTagsForResourceCommand',
    access: 'read',
    resource: (c) => c.ruleArns,
  },
  { action: 'ec2:DescribeSubnets', sdk: 'client-ec2:DescribeSubnetsCommand', access: 'read', resource: ALL },
  {
    action: 'ec2:DescribeSecurityGroups',
    sdk: 'client-ec2:DescribeSecurityGroupsCommand',
    access: 'read',
    resource: ALL,
  },
  { action: 'ec2:DescribeTags', sdk: 'client-ec2:DescribeTagsCommand', access: 'read', resource: ALL },
  { action: 'ec2:DescribeImages', sdk: 'client-ec2:DescribeImagesCommand', access: 'read', resource: ALL },
  {
    action: 'ssm:GetParameter',
    sdk: 'client-ssm:GetParameterCommand',
    access: 'read',
    resource: (c) => [`arn:${c.partition}:ssm:${c.region}::parameter/aws/service/*`],
  },

  { action: 'iam:CreateRole', sdk: 'client-iam:CreateRoleCommand', access: 'write', resource: roles },
  { action: 'iam:TagRole', sdk: 'client-iam:CreateRoleCommand', access: 'write', resource: roles },
  { action: 'iam:TagRole', sdk: 'client-iam:TagRoleCommand', access: 'write', resource: roles },
  {
    action: 'iam:UpdateAssumeRolePolicy',
    sdk: 'client-iam:UpdateAssumeRolePolicyCommand',
    access: 'write',
    resource: roles,
  },
  {
    action: 'iam:AttachRolePolicy',
    sdk: 'client-iam:AttachRolePolicyCommand',
    access: 'write',
    resource: roles,
    condition: (c) => ({
      ArnEquals: { 'iam:PolicyARN': [...c.controllerPolicyArns, ...c.nodeManagedPolicyArns] },
    }),
  },
  { action: 'iam:CreatePolicy', sdk: 'client-iam:CreatePolicyCommand', access: 'write', resource: policies },
  { action: 'iam:TagPolicy', sdk: 'client-iam:CreatePolicyCommand', access: 'write', resource: policies },
  { action: 'iam:TagPolicy', sdk: 'client-iam:TagPolicyCommand', access: 'write', resource: policies },
  {
    action: 'iam:CreatePolicyVersion',
    sdk: 'client-iam:CreatePolicyVersionCommand',
    access: 'write',
    resource: policies,
  },
  {
    action: 'iam:DeletePolicyVersion',
    sdk: 'client-iam:DeletePolicyVersionCommand',
    access: 'write',
    resource: policies,
  },
  {
    action: 'iam:CreateServiceLinkedRole',
    sdk: 'client-iam:CreateServiceLinkedRoleCommand',
    access: 'write',
    resource: (c) => [c.spotRoleArn],
    condition: () => ({ StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } }),
    when: (c) => c.cluster.prereqs.spotRole !== 'never',
  },
  {
    action: 'iam:CreateOpenIDConnectProvider',
    sdk: 'client-iam:CreateOpenIDConnectProviderCommand',
    access: 'write',
    resource: (c) => [oidcProviderArn(c)],
    when: irsa,
  },
  {
    action: 'iam:TagOpenIDConnectProvider',
    sdk: 'client-iam:CreateOpenIDConnectProviderCommand',
    access: 'write',
    resource: (c) => [oidcProviderArn(c)],
    when: irsa,
  },
  ...(['CreatePodIdentityAssociation', 'UpdatePodIdentityAssociation'] as const).map((op): AwsAction => ({
    action: 'iam:PassRole',
    sdk: `client-eks:${op}Command`,
    access: 'write',
    resource: (c) => [c.controllerRoleArn],
    condition: () => ({ StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } }),
    when: podIdentity,
  })),
  {
    action: 'eks:CreateAddon',
    sdk: 'client-eks:CreateAddonCommand',
    access: 'write',
    resource: (c) => [c.clusterArn, addonArn(c)],
    when: podIdentity,
  },
  {
    action: 'eks:TagResource',
    sdk: 'client-eks:CreateAddonCommand',
    access: 'write',
    resource: (c) => [addonArn(c)],
    when: podIdentity,
  },
  {
    action: 'eks:CreatePodIdentityAssociation',
    sdk: 'client-eks:CreatePodIdentityAssociationCommand',
    access: 'write',
    resource: (c) => [c.clusterArn, associationArn(c)],
    when: podIdentity,
  },
  {
    action: 'eks:TagResource',
    sdk: 'client-eks:CreatePodIdentityAssociationCommand',
    access: 'write',
    resource: (c) => [associationArn(c)],
    when: podIdentity,
  },
  {
    action: 'eks:UpdatePodIdentityAssociation',
    sdk: 'client-eks:UpdatePodIdentityAssociationCommand',
    access: 'write',
    resource: (c) => [associationArn(c)],
    when: podIdentity,
  },
  {
    action: 'eks:CreateAccessEntry',
    sdk: 'client-eks:CreateAccessEntryCommand',
    access: 'write',
    resource: (c) => [c.clusterArn, accessEntryArn(c)],
    when: accessEntries,
  },
  {
    action: 'eks:TagResource',
    sdk: 'client-eks:CreateAccessEntryCommand',
    access: 'write',
    resource: (c) => [accessEntryArn(c)],
    when: accessEntries,
  },
  {
    action: 'eks:UpdateNodegroupConfig',
    sdk: 'client-eks:UpdateNodegroupConfigCommand',
    access: 'write',
    resource: (c) => [nodegroupArn(c)],
    when: (c) => c.cluster.install.migration.enabled,
  },
  {
    action: 'ec2:CreateTags',
    sdk: 'client-ec2:CreateTagsCommand',
    access: 'write',
    resource: (c) => [arn(c, 'ec2', 'subnet/*'), arn(c, 'ec2', 'security-group/*')],
    condition: (c) => ({
      'ForAllValues:StringEquals': { 'aws:TagKeys': c.discoveryTagKeys },
      Null: { 'aws:TagKeys': 'false' },
    }),
  },
  {
    action: 'sqs:CreateQueue',
    sdk: 'client-sqs:CreateQueueCommand',
    access: 'write',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'sqs:TagQueue',
    sdk: 'client-sqs:CreateQueueCommand',
    access: 'write',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'sqs:SetQueueAttributes',
    sdk: 'client-sqs:SetQueueAttributesCommand',
    access: 'write',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'sqs:TagQueue',
    sdk: 'client-sqs:TagQueueCommand',
    access: 'write',
    resource: (c) => [c.queueArn],
  },
  {
    action: 'events:PutRule',
    sdk: 'client-eventbridge:PutRuleCommand',
    access: 'write',
    resource: (c) => c.ruleArns,
  },
  {
    action: 'events:TagResource',
    sdk: 'client-eventbridge:PutRuleCommand',
    access: 'write',
    resource: (c) => c.ruleArns,
  },
  {
    action: 'events:TagResource',
    sdk: 'client-eventbridge:TagResourceCommand',
    access: 'write',
    resource: (c) => c.ruleArns,
  },
  {
    action: 'events:PutTargets',
    sdk: 'client-eventbridge:PutTargetsCommand',
    access: 'write',
    resource: (c) => c.ruleArns,
  },
];

/**
 * The names the printed commands use for a cluster's two roles and their inline policies; any name
 * works if the commands use it. One pair per cluster, so clusters in one account never share a role
 * (two apply policies of about 7,000 characters would not fit one role's 10,240 for inline policies).
 * IAM role names stop at 64 characters: a longer one keeps its start and ends in a hash of the whole.
 */
export function suggestedRoleNames(cluster: string): Record<'plan' | 'apply', string> {
  const name = (role: string): string => {
    const full = `karpenter-action-${role}-${cluster}`;
    if (full.length <= 64) return full;
    const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
    return `${full.slice(0, 55)}-${hash}`;
  };
  return { plan: name('plan'), apply: name('apply') };
}

/** The inline policy's name on each of a cluster's roles. */
export const INLINE_POLICY_NAME = 'karpenter-action';

/** The EKS access policy of the apply role, which installs charts, CRDs and RBAC. The plan role gets none. */
export const CLUSTER_ADMIN_ACCESS_POLICY =
  'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';

/** GitHub's OIDC issuer, the prefix of its claim keys in AWS trust conditions. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

/** The ARNs a cluster's config gives its prerequisites, from the same code the prereqs stage uses. */
export function buildIamPolicyContext(
  cluster: ClusterConfig,
  opts: { account: string; partition?: string; discoveryTagKeys?: string[] },
): IamPolicyContext {
  const partition = opts.partition ?? 'aws';
  const d = buildPrereqsDesired(
    { cluster },
    { account: opts.account, partition, region: cluster.region },
    {},
  );
  const rules = buildInterruptionRules(cluster.karpenter.version, cluster.cluster);
  const region = cluster.region;
  return {
    partition,
    account: opts.account,
    region,
    cluster,
    clusterArn: `arn:${partition}:eks:${region}:${opts.account}:cluster/${cluster.cluster}`,
    nodeRoleArn: d.nodeRoleArn,
    controllerRoleArn: d.controllerRoleArn,
    controllerPolicyArns: d.controllerPolicies.map((p) => p.arn),
    nodeManagedPolicyArns: d.nodeRole.attach,
    queueArn: d.queueArn,
    ruleArns: rules.map((r) => `arn:${partition}:events:${region}:${opts.account}:rule/${r.name}`),
    spotRoleArn: `arn:${partition}:iam::${opts.account}:role/aws-service-role/spot.amazonaws.com/${SPOT_ROLE}`,
    discoveryTagKeys: [...new Set([DISCOVERY_TAG, ...(opts.discoveryTagKeys ?? [])])].sort(),
  };
}

const SERVICE_NAMES: Record<string, string> = {
  eks: 'Eks',
  iam: 'Iam',
  ec2: 'Ec2',
  sqs: 'Sqs',
  events: 'EventBridge',
  ssm: 'Ssm',
};

/**
 * The permission policy of the plan role (reads only) or the apply role (reads and writes), for one
 * cluster. Actions that share a service, resources and conditions share a statement, so the document
 * stays short enough to read in review and well under IAM's size limit.
 */
export function buildPermissionsPolicy(ctx: IamPolicyContext, role: 'plan' | 'apply'): PolicyDocument {
  const groups = new Map<
    string,
    { access: string; service: string; actions: Set<string>; resource: string[]; condition?: Condition }
  >();
  for (const a of AWS_ACTIONS) {
    if (role === 'plan' && a.access !== 'read') continue;
    if (a.when && !a.when(ctx)) continue;
    const resource = [...new Set(a.resource(ctx))].sort();
    const condition = a.condition?.(ctx);
    const service = a.action.split(':')[0]!;
    // A read allowed on more resources of another type than it acts on grants nothing more, so reads
    // of one service share a statement; writes keep exactly their own resources.
    const scope = a.access === 'read' ? (resource.includes('*') ? '*' : 'scoped') : resource;
    const key = JSON.stringify([a.access, service, scope, condition ?? null]);
    const g = groups.get(key) ?? {
      access: a.access,
      service,
      actions: new Set<string>(),
      resource: [],
      condition,
    };
    g.actions.add(a.action);
    g.resource = [...new Set([...g.resource, ...resource])].sort();
    groups.set(key, g);
  }
  const used = new Map<string, number>();
  const Statement = [...groups.values()].map((g): PolicyStatement => {
    const base = `${g.access === 'read' ? 'Read' : 'Write'}${SERVICE_NAMES[g.service] ?? g.service}`;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return {
      Sid: n === 1 ? base : `${base}${n}`,
      Effect: 'Allow',
      Action: [...g.actions].sort(),
      Resource: g.resource.length === 1 ? g.resource[0]! : g.resource,
      ...(g.condition ? { Condition: g.condition } : {}),
    };
  });
  return { Version: '2012-10-17', Statement };
}

/**
 * Who may assume each role: the plan role only from `pull_request` runs of the repository and from
 * runs on its default branch (the scheduled drift check), the apply role only from jobs of the
 * protected environment, so an approval gate stands between a pull request and any write.
 */
export function buildTrustPolicy(input: {
  account: string;
  partition?: string;
  repository: string;
  role: 'plan' | 'apply';
  environment: string;
  /** Scheduled drift checks run on this branch with the plan role; default main. */
  defaultBranch?: string;
  /** How the repository's tokens spell their subject; name-only by default. */
  subjects?: SubjectFormat;
}): PolicyDocument {
  const sub = buildSubjectCondition(
    input.repository,
    input.subjects ?? { kind: 'names' },
    input.role === 'plan'
      ? [{ kind: 'pull_request' }, { kind: 'branch', branch: input.defaultBranch ?? 'main' }]
      : [{ kind: 'environment', environment: input.environment }],
  );
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: input.role === 'plan' ? 'GitHubPullRequests' : 'GitHubProtectedEnvironment',
        Effect: 'Allow',
        Principal: {
          Federated: `arn:${input.partition ?? 'aws'}:iam::${input.account}:oidc-provider/${GITHUB_OIDC_HOST}`,
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition:
          sub.operator === 'StringEquals'
            ? {
                StringEquals: {
                  [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
                  [`${GITHUB_OIDC_HOST}:sub`]: sub.values.length === 1 ? sub.values[0]! : sub.values,
                },
              }
            : {
                StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com' },
                StringLike: {
                  [`${GITHUB_OIDC_HOST}:sub`]: sub.values.length === 1 ? sub.values[0]! : sub.values,
                },
              },
      },
    ],
  };
}

/** One role as IAM takes it: what it may do, and who may assume it. */
export interface RolePolicies {
  /** The role's suggested name (per cluster) and its inline policy's name, as the printed commands use them. */
  roleName: string;
  policyName: string;
  permissions: PolicyDocument;
  trust: PolicyDocument;
}

/** The planner identity's Kubernetes objects, which an admin applies once before the first plan. */
export interface PlannerBootstrap {
  group: string;
  clusterRole: string;
  policy: string;
  /** The four objects as one `v1` List, policy first: `kubectl apply --server-side -f` takes it as it is. */
  manifests: { apiVersion: 'v1'; kind: 'List'; items: KubeObject[] };
  /** How to apply them with the action's field manager, so the action owns them afterwards. */
  commands: string[];
}

/**
 * The Kubernetes side: the apply role is cluster admin through an access entry; the plan role gets an
 * access entry with the planner group and no access policy, so it can read and dry-run but never write.
 */
export interface KubernetesAccess {
  /** The access policy of the apply role. */
  accessPolicyArn: string;
  accessScope: { type: 'cluster' };
  principals: Partial<Record<'plan' | 'apply', string>>;
  reason: string;
  /** The aws CLI lines that create the access entries (API and API_AND_CONFIG_MAP clusters). */
  commands: string[];
  /** The same access for CONFIG_MAP clusters: entries for `mapRoles` of kube-system/aws-auth. */
  awsAuth: RoleMapping[];
  /** Present when the plan role is printed. */
  planner?: PlannerBootstrap;
}

/** The `--format json` output: each requested role's policies and the access entries they need. */
export interface IamPolicyDocument {
  cluster: string;
  region: string;
  plan?: RolePolicies;
  apply?: RolePolicies;
  kubernetes: KubernetesAccess;
}

/** Which roles to print, and the account, repository and environment their policies name. */
export interface IamPolicyOptions {
  role: 'plan' | 'apply' | 'both';
  /** The config file, as the printed bootstrap command names it. */
  configPath?: string;
  account: string;
  repository: string;
  environment: string;
  defaultBranch?: string;
  subjects?: SubjectFormat;
  discoveryTagKeys?: string[];
}

/** Everything a team needs to create the action's two roles for one cluster, as one document. */
export function buildIamPolicyDocument(cluster: ClusterConfig, opts: IamPolicyOptions): IamPolicyDocument {
  const ctx = buildIamPolicyContext(cluster, {
    account: opts.account,
    discoveryTagKeys: opts.discoveryTagKeys,
  });
  const roles = opts.role === 'both' ? (['plan', 'apply'] as const) : ([opts.role] as const);
  const doc: Omit<IamPolicyDocument, 'kubernetes'> = {
    cluster: cluster.cluster,
    region: cluster.region,
  };
  const principals: KubernetesAccess['principals'] = {};
  const commands: string[] = [];
  const awsAuth: RoleMapping[] = [];
  const roleNames = suggestedRoleNames(cluster.cluster);
  for (const r of roles) {
    doc[r] = {
      roleName: roleNames[r],
      policyName: INLINE_POLICY_NAME,
      permissions: buildPermissionsPolicy(ctx, r),
      trust: buildTrustPolicy({
        account: opts.account,
        repository: opts.repository,
        role: r,
        environment: opts.environment,
        defaultBranch: opts.defaultBranch,
        subjects: opts.subjects,
      }),
    };
    const principal = `arn:${ctx.partition}:iam::${opts.account}:role/${roleNames[r]}`;
    principals[r] = principal;
    const common = `--cluster-name ${cluster.cluster} --region ${cluster.region} --principal-arn ${principal}`;
    if (r === 'plan') {
      commands.push(
        `aws eks create-access-entry ${common} --type STANDARD --kubernetes-groups ${PLANNER_GROUP}`,
      );
      awsAuth.push({ rolearn: principal, username: PLANNER_USERNAME, groups: [PLANNER_GROUP] });
    } else {
      commands.push(
        `aws eks create-access-entry ${common} --type STANDARD`,
        `aws eks associate-access-policy ${common} --policy-arn ${CLUSTER_ADMIN_ACCESS_POLICY} --access-scope type=cluster`,
      );
      awsAuth.push({ rolearn: principal, username: 'karpenter-action', groups: ['system:masters'] });
    }
  }
  return {
    ...doc,
    kubernetes: {
      accessPolicyArn: CLUSTER_ADMIN_ACCESS_POLICY,
      accessScope: { type: 'cluster' },
      principals,
      reason: `the apply role installs charts, CRDs and RBAC, so it is cluster admin; the plan role is mapped to the group ${PLANNER_GROUP}, whose ClusterRole ${PLANNER_ROLE} reads what a plan reads and may create and patch the kinds a plan dry-runs, while the ValidatingAdmissionPolicy ${PLANNER_POLICY} refuses every write from that group that is not a dry-run; it reads no Secret`,
      commands,
      awsAuth,
      ...(principals.plan ? { planner: buildPlannerBootstrap(cluster.cluster, opts.configPath) } : {}),
    },
  };
}

/** The planner objects and how an admin applies them once; afterwards the prereqs stage keeps them. */
export function buildPlannerBootstrap(cluster: string, configPath?: string): PlannerBootstrap {
  const config = configPath && configPath !== DEFAULT_CONFIG ? ` --config ${configPath}` : '';
  return {
    group: PLANNER_GROUP,
    clusterRole: PLANNER_ROLE,
    policy: PLANNER_POLICY,
    manifests: { apiVersion: 'v1', kind: 'List', items: buildPlannerObjects(true) },
    commands: [
      `karpenter-action iam-policy${config} --cluster ${cluster} --format manifests | kubectl apply --server-side --field-manager=${FIELD_MANAGER} -f -`,
    ],
  };
}

/** The planner objects as multi-document YAML, policy first (`--format manifests`). */
export function renderPlannerManifests(): string {
  return buildPlannerObjects(true)
    .map((o) => stringify(o, { lineWidth: 0 }))
    .join('---\n');
}

const json = (v: unknown) => JSON.stringify(v, null, 2);

/** IAM counts a policy's characters without whitespace: 6,144 for a managed policy, 10,240 for a role's inline ones. */
export const MANAGED_POLICY_LIMIT = 6144;
export const INLINE_POLICY_LIMIT = 10240;

/** A policy's size as IAM counts it. */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, '').length;
}

function sizeNote(doc: PolicyDocument): string[] {
  const n = policySize(doc);
  if (n <= MANAGED_POLICY_LIMIT) return [];
  return [
    `(${n} characters: over the ${MANAGED_POLICY_LIMIT} of a managed policy, so attach it inline with aws iam put-role-policy)`,
  ];
}

/** The document for a terminal: each policy as JSON under a heading, then the Kubernetes access as commands. */
export function renderIamPolicyText(doc: IamPolicyDocument, opts: IamPolicyOptions): string {
  const out: string[] = [];
  const describe = {
    plan: `Plan role (read-only), assumable from pull_request runs of ${opts.repository}`,
    apply: `Apply role (writes), assumable only from jobs in the GitHub Environment "${opts.environment}" of ${opts.repository}`,
  };
  for (const r of ['plan', 'apply'] as const) {
    const p = doc[r];
    if (!p) continue;
    out.push(
      `# ${describe[r]}`,
      `# cluster ${doc.cluster} (${doc.region}); role ${p.roleName}, inline policy ${p.policyName}`,
      '',
      '## Permissions policy',
      ...sizeNote(p.permissions),
      json(p.permissions),
      '',
      '## Trust policy',
      json(p.trust),
      '',
    );
  }
  const k = doc.kubernetes;
  out.push(
    '# Kubernetes access',
    '',
    ...(k.principals.apply
      ? [
          `Apply role: an EKS access entry with AmazonEKSClusterAdminPolicy at cluster scope; it installs charts, CRDs and RBAC.`,
        ]
      : []),
    ...(k.principals.plan
      ? [
          `Plan role: an EKS access entry with the Kubernetes group ${PLANNER_GROUP} and no access policy. The group is bound to the ClusterRole ${PLANNER_ROLE}: reads of what a plan reads, and create/patch on the kinds a plan diffs by server-side-apply dry-run. The ValidatingAdmissionPolicy ${PLANNER_POLICY} refuses every write from the group that is not a dry-run. It reads no Secret.`,
        ]
      : []),
    `The role names below are suggestions, one pair per cluster (${[doc.plan?.roleName, doc.apply?.roleName].filter(Boolean).join(', ')}); use the names you create.`,
    '',
    ...k.commands,
    '',
    `On a cluster whose authentication mode is CONFIG_MAP, add these entries to mapRoles of the aws-auth ConfigMap in kube-system instead (role ARNs there carry no path):`,
    '',
    stringify(k.awsAuth, { lineWidth: 0 }).trimEnd(),
    '',
  );
  if (k.planner) {
    out.push(
      '# Planner objects',
      '',
      `Once, by a cluster admin, before the first plan with the plan role: the ClusterRole ${PLANNER_ROLE} and its binding, the ValidatingAdmissionPolicy ${PLANNER_POLICY} and its binding. Applied with the field manager ${FIELD_MANAGER}, the action's prereqs stage owns them from then on: later plans show them unchanged, and drift checks watch them.`,
      `They need Kubernetes ${POLICY_MIN_KUBERNETES} or later (kubectl version): older clusters serve no ValidatingAdmissionPolicy, and without it the role's dry-run verbs would be write verbs, so apply nothing here on such a cluster; plan with the apply role until the control plane is upgraded.`,
      '',
      ...k.planner.commands,
      '',
      'or, the same objects:',
      '',
      `kubectl apply --server-side --field-manager=${FIELD_MANAGER} -f - <<'EOF'`,
      renderPlannerManifests().trimEnd(),
      'EOF',
      '',
    );
  }
  if (doc.plan) {
    out.push(
      `The plan role's trust also admits runs on the default branch (${opts.defaultBranch ?? 'main'}; --default-branch), which the scheduled drift check needs.`,
      '',
    );
  }
  out.push(describeSubjectFormat(opts.repository, opts.subjects ?? { kind: 'names' }), '');
  return out.join('\n');
}

const DEFAULT_CONFIG = '.github/karpenter.yaml';

function readSubjectFile(file: string, workspace: string): string {
  try {
    return readFileSync(resolve(workspace, file), 'utf8');
  } catch (e) {
    throw new Refusal(
      `--oidc-subject ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      [`write it first: gh api repos/OWNER/REPO/actions/oidc/customization/sub > ${file}`],
    );
  }
}
const ACCOUNT_ID = /^\d{12}$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const ENVIRONMENT = /^[^\s:'"`]{1,255}$/;

/** The `iam-policy` command: reads the config (offline) and prints both roles' policies for one cluster. */
export function runIamPolicy(opts: {
  config?: string;
  cluster?: string;
  role?: string;
  accountId?: string;
  repository?: string;
  environment?: string;
  defaultBranch?: string;
  ownerId?: string;
  repositoryId?: string;
  /** A file with what `gh api repos/OWNER/REPO/actions/oidc/customization/sub` printed. */
  oidcSubject?: string;
  format?: string;
  workspace: string;
  env?: Record<string, string | undefined>;
}): { output: string; document: IamPolicyDocument } {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const role = opts.role ?? 'both';
  if (role !== 'plan' && role !== 'apply' && role !== 'both')
    problems.push(`--role is "${role}"; use plan, apply or both`);
  const format = opts.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'manifests')
    problems.push(`--format is "${format}"; use text, json or manifests`);
  const account = opts.accountId ?? '<ACCOUNT_ID>';
  if (opts.accountId !== undefined && !ACCOUNT_ID.test(opts.accountId))
    problems.push(`--account-id "${opts.accountId}" is not a 12-digit AWS account id`);
  const repository = opts.repository ?? env.GITHUB_REPOSITORY ?? '<OWNER>/<REPO>';
  if ((opts.repository ?? env.GITHUB_REPOSITORY) !== undefined && !REPOSITORY.test(repository))
    problems.push(`repository "${repository}" is not owner/repo`);
  const environment = opts.environment ?? 'karpenter-apply';
  if (!ENVIRONMENT.test(environment))
    problems.push(`--environment "${environment}" is not a GitHub Environment name`);
  if (opts.defaultBranch !== undefined && !/^[^\s:]{1,255}$/.test(opts.defaultBranch))
    problems.push(`--default-branch "${opts.defaultBranch}" is not a branch name`);
  problems.push(...checkIdFlags(opts.ownerId, opts.repositoryId));
  if (opts.oidcSubject !== undefined && opts.ownerId !== undefined)
    problems.push('--oidc-subject and --owner-id/--repository-id both say the subject format: pass one');
  if (problems.length > 0) throw new Refusal('iam-policy: invalid flags', problems);

  const configPath = opts.config ?? DEFAULT_CONFIG;
  const loaded = loadConfig(configPath, opts.workspace);
  if (!loaded.config) throw new Refusal(`invalid config ${configPath}`, loaded.issues.map(renderIssue));
  let cluster: ClusterConfig;
  try {
    cluster = selectCluster(loaded.config, opts.cluster);
  } catch (e) {
    throw new Refusal((e as Error).message);
  }
  const m = loadManifests(loaded.config, cluster, opts.workspace);
  const nodeClasses = m.objects.filter((o) => o.obj.kind === 'EC2NodeClass' && !o.legacy).map((o) => o.obj);
  const wanted = buildDiscoveryTags(cluster.cluster, nodeClasses);
  const options: IamPolicyOptions = {
    role: role as IamPolicyOptions['role'],
    configPath,
    account,
    repository,
    environment,
    defaultBranch: opts.defaultBranch ?? 'main',
    subjects:
      opts.oidcSubject !== undefined
        ? parseSubjectCustomization(
            readSubjectFile(opts.oidcSubject, opts.workspace),
            repository,
            opts.oidcSubject,
          )
        : subjectFormatFromIds(opts.ownerId, opts.repositoryId),
    discoveryTagKeys: [...Object.keys(wanted.subnets), ...Object.keys(wanted.securityGroups)],
  };
  const document = buildIamPolicyDocument(cluster, options);
  const output =
    format === 'json'
      ? `${json(document)}\n`
      : format === 'manifests'
        ? renderPlannerManifests()
        : renderIamPolicyText(document, options);
  return { output, document };
}
