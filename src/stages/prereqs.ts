import { DescribeAddonCommand, DescribeClusterCommand, type Cluster } from '@aws-sdk/client-eks';
import { GetRoleCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import type { ManifestObject } from '../config/manifests.ts';
import { readAccountId, type AwsClients } from '../adapters/aws.ts';
import type { KubePort } from '../adapters/kube.ts';
import type { Change, Finding, StagePlan } from '../plan/model.ts';
import {
  buildControllerPolicies,
  buildInterruptionRules,
  buildNodeRoleManagedPolicies,
  buildNodeRoleTrust,
  buildQueue,
  isKnownBad,
  kubernetesRange,
  versionData,
} from '../versions/index.ts';
import {
  applyDiscoveryTag,
  buildDiscoveryTags,
  planDiscoveryTags,
  readDiscoveryTargets,
} from './prereqs/discovery-tags.ts';
import {
  applyPolicy,
  applyRoleChange,
  planPolicy,
  planRole,
  type Ownership,
  type PolicySpec,
  type RoleSpec,
} from './prereqs/iam.ts';
import {
  applyOidcProvider,
  buildIrsaTrust,
  buildPodIdentityTrust,
  planOidcProvider,
} from './prereqs/identity.ts';
import { applyNodeAccess, planNodeAccess, type NodeAccessInput } from './prereqs/node-access.ts';
import { applyPlannerAccess, planPlannerAccess } from './prereqs/planner-access.ts';
import {
  applyPodIdentity,
  planPodIdentity,
  POD_IDENTITY_AGENT,
  type PodIdentityInput,
} from './prereqs/pod-identity.ts';
import {
  checkAmiAliases,
  checkAutoMode,
  checkClusterCapacity,
  checkIamNames,
  checkSelectors,
  type PlannedTags,
} from './prereqs/preflight.ts';
import { applyQueue, planQueue, type QueueSpec } from './prereqs/queue.ts';
import { applyRule, planRules } from './prereqs/rules.ts';
import { anyPoolMayUseSpot, applySpotRole, planSpotRole, SPOT_ROLE } from './prereqs/spot-role.ts';
import type { AppliedChange, BaseContext, Stage, StageResult } from './types.ts';
import { compareMinors } from '../util/release.ts';

/** The tag that marks an AWS resource as created (or adopted) by karpenter-action; only those are managed. */
export const AWS_OWNER_TAG: [string, string] = ['karpenter-action/managed-by', 'karpenter-action'];
/** Which cluster's prerequisites a resource is, for people reading the account. */
export const AWS_CLUSTER_TAG = 'karpenter-action/cluster';
/** The service account the Karpenter chart creates for its controller. */
export const CONTROLLER_SERVICE_ACCOUNT = 'karpenter';

type Applier = (change: Change) => Promise<AppliedChange>;

export interface PrereqsContext extends BaseContext {
  aws: AwsClients;
  kube: KubePort;
  /** The config's manifests, placeholders filled: NodePools decide the Spot role, EC2NodeClasses the selectors. */
  manifests: ManifestObject[];
  /** Filled by plan: how each planned change is carried out, by ref, so apply never re-decides. */
  appliers?: Map<string, Applier>;
}

/** Everything the stage derives from the config, the account and the cluster before it reads any resource. */
export interface PrereqsDesired {
  account: string;
  partition: string;
  region: string;
  eks: Cluster;
  tags: Record<string, string>;
  own: Ownership;
  nodeRole: RoleSpec;
  nodeRoleArn: string;
  controllerPolicies: PolicySpec[];
  controllerRole: RoleSpec;
  controllerRoleArn: string;
  queue: QueueSpec;
  queueArn: string;
}

const fromManifests = (ctx: PrereqsContext, kind: string) =>
  ctx.manifests.filter((m) => m.obj.kind === kind && !m.legacy);

/** Builds the desired AWS state for the cluster's Karpenter version from the per-version data. */
export function buildPrereqsDesired(
  ctx: Pick<PrereqsContext, 'cluster'>,
  who: { account: string; partition: string; region: string },
  eks: Cluster,
): PrereqsDesired {
  const { cluster: c } = ctx;
  const version = c.karpenter.version;
  const p = c.prereqs;
  const { account, partition, region } = who;
  const tags = {
    ...p.tags,
    [AWS_CLUSTER_TAG]: c.cluster,
    [AWS_OWNER_TAG[0]]: AWS_OWNER_TAG[1],
  };
  const nodeRoleArn = `arn:${partition}:iam::${account}:role/${p.nodeRoleName}`;
  const controllerRoleArn = `arn:${partition}:iam::${account}:role/${p.controllerRoleName}`;
  const queueArn = `arn:${partition}:sqs:${region}:${account}:${p.interruptionQueue}`;
  const controllerPolicies = buildControllerPolicies(version, {
    partition,
    region,
    accountId: account,
    clusterName: c.cluster,
    nodeRoleArn,
    queueArn,
  }).map((pol): PolicySpec => ({
    name: pol.name,
    arn: `arn:${partition}:iam::${account}:policy/${pol.name}`,
    description: `Karpenter ${version} controller permissions for ${c.cluster}`,
    document: pol.document,
    tags,
  }));
  const issuer = eks.identity?.oidc?.issuer ?? '';
  const controllerTrust =
    p.identity === 'irsa'
      ? buildIrsaTrust({
          partition,
          accountId: account,
          issuer,
          namespace: c.karpenter.namespace,
          serviceAccount: CONTROLLER_SERVICE_ACCOUNT,
        })
      : buildPodIdentityTrust();
  const queue = buildQueue(version, c.cluster, queueArn);
  return {
    account,
    partition,
    region,
    eks,
    tags,
    own: { ownerTag: AWS_OWNER_TAG, adopt: p.adopt },
    nodeRole: {
      name: p.nodeRoleName,
      description: `Karpenter node role for ${c.cluster}`,
      trust: buildNodeRoleTrust(version, partition),
      attach: buildNodeRoleManagedPolicies(version, partition),
      tags,
    },
    nodeRoleArn,
    controllerPolicies,
    controllerRole: {
      name: p.controllerRoleName,
      description: `Karpenter controller role for ${c.cluster} (${p.identity === 'irsa' ? 'IRSA' : 'EKS Pod Identity'})`,
      trust: controllerTrust,
      attach: controllerPolicies.map((x) => x.arn),
      tags,
    },
    controllerRoleArn,
    queue: { name: p.interruptionQueue, attributes: queue.attributes, policy: queue.policy, tags },
    queueArn,
  };
}

/** Findings that need only the config and DescribeCluster: version range, known-bad releases, Auto Mode, names, identity. */
export function evaluateClusterPreflight(ctx: Pick<PrereqsContext, 'cluster'>, d: PrereqsDesired): Finding[] {
  const c = ctx.cluster;
  const version = c.karpenter.version;
  const findings: Finding[] = [];
  const k8s = d.eks.version;
  const range = kubernetesRange(version);
  if (k8s && (compareMinors(k8s, range.min) < 0 || compareMinors(k8s, range.max) > 0)) {
    findings.push({
      level: 'error',
      code: 'k8s-version-unsupported',
      message: `Karpenter ${version} supports Kubernetes ${range.min} to ${range.max}; cluster ${c.cluster} runs ${k8s}, and the controller refuses to start outside that range`,
      fix:
        compareMinors(k8s, range.min) < 0
          ? `upgrade the control plane to ${range.min} or later first, or pick a Karpenter release that supports ${k8s}`
          : `pick a Karpenter release that supports Kubernetes ${k8s} (karpenter.version)`,
      source: c.source,
    });
  }
  const bad = isKnownBad(version);
  if (bad) {
    findings.push({
      level: 'error',
      code: 'karpenter-version-known-bad',
      message: `Karpenter ${version}: ${bad.reason} (${bad.reference})`,
      fix: 'pick the next patch release of that minor',
      source: c.source,
    });
  }
  const row = versionData(version);
  if (row.source.origin === 'derived') {
    findings.push({
      level: 'info',
      code: 'prerequisites-derived',
      message: `Karpenter ${version}'s prerequisites are derived, not copied from one release's getting-started template (${row.source.fixture}): ${(row.source.derivation ?? []).join('; ')}`,
      source: c.source,
    });
  }
  findings.push(...checkAutoMode(d.eks));
  findings.push(...checkIamNames([d.nodeRole.name, d.controllerRole.name], 64, 'IAM role name'));
  findings.push(
    ...checkIamNames(
      d.controllerPolicies.map((p) => p.name),
      128,
      'IAM policy name',
    ),
  );
  if (c.prereqs.identity === 'irsa' && !d.eks.identity?.oidc?.issuer) {
    findings.push({
      level: 'error',
      code: 'irsa-no-issuer',
      message: `prereqs.identity is irsa, but cluster ${c.cluster} reports no OIDC issuer`,
      fix: 'use identity: pod-identity (the default), or check the cluster with aws eks describe-cluster',
    });
  }
  return findings;
}

/** EC2NodeClasses naming another node role than the one this stage manages launch nodes that cannot join. */
function checkNodeClassRoles(ctx: PrereqsContext, nodeRoleName: string): Finding[] {
  return fromManifests(ctx, 'EC2NodeClass').flatMap((m): Finding[] => {
    const role = (m.obj.spec as { role?: string } | undefined)?.role;
    if (!role || role === nodeRoleName || role.endsWith(`:role/${nodeRoleName}`)) return [];
    return [
      {
        level: 'warning',
        code: 'nodeclass-role-mismatch',
        message: `EC2NodeClass ${String((m.obj.metadata as { name?: string }).name)} uses role ${role}, but the prereqs stage prepares ${nodeRoleName} (node access, PassRole)`,
        fix: `set spec.role to ${nodeRoleName}, or set prereqs.nodeRoleName to ${role}`,
        source: { file: m.file, line: m.locate(['spec', 'role']) ?? m.line },
      },
    ];
  });
}

async function spotRoleExists(ctx: PrereqsContext): Promise<boolean> {
  try {
    await ctx.aws.iam.send(new GetRoleCommand({ RoleName: SPOT_ROLE }));
    return true;
  } catch (e) {
    if (e instanceof NoSuchEntityException) return false;
    throw e;
  }
}

/**
 * Plans the AWS prerequisites. The changes come in the order apply carries them out, each after what
 * it depends on: the Spot role; the node role; the controller policies, the OIDC provider and the
 * controller role; the queue, then its rules; the Pod Identity agent and association; node access;
 * the planner identity's RBAC and dry-run-only policy; discovery tags.
 */
async function planPrereqs(ctx: PrereqsContext): Promise<StagePlan> {
  const { aws, cluster: c } = ctx;
  const who = await readAccountId(aws);
  const eks = (await aws.eks.send(new DescribeClusterCommand({ name: c.cluster }))).cluster;
  if (!eks) throw new Error(`DescribeCluster returned no cluster for ${c.cluster}`);
  const d = buildPrereqsDesired(
    ctx,
    { account: who.account, partition: who.partition, region: aws.region },
    eks,
  );
  const findings = evaluateClusterPreflight(ctx, d);
  findings.push(...checkNodeClassRoles(ctx, d.nodeRole.name));
  const changes: Change[] = [];
  const appliers = new Map<string, Applier>();
  const add = (list: readonly Change[], applier: Applier) => {
    for (const ch of list) {
      changes.push(ch);
      appliers.set(ch.ref, applier);
    }
  };
  ctx.appliers = appliers;

  if (findings.some((f) => f.code === 'iam-name-too-long' || f.code === 'eks-auto-mode')) {
    // Names IAM would reject, or a cluster whose Karpenter AWS manages: nothing here can be planned safely.
    return { stage: 'prereqs', changes, findings, notes: [] };
  }

  const pools = fromManifests(ctx, 'NodePool');
  const mode = c.prereqs.spotRole;
  const spotNeeded = mode === 'always' || (mode === 'auto' && anyPoolMayUseSpot(pools.map((m) => m.obj)));
  add(await planSpotRole(aws.iam, spotNeeded), (ch) => applySpotRole(aws.iam, ch));
  if (mode === 'never' && anyPoolMayUseSpot(pools.map((m) => m.obj)) && !(await spotRoleExists(ctx))) {
    findings.push({
      level: 'warning',
      code: 'spot-role-missing',
      message: `a NodePool may use spot, but the account has no ${SPOT_ROLE} and prereqs.spotRole is never: Karpenter falls back to on-demand without saying so`,
      fix: 'set prereqs.spotRole: auto, or run aws iam create-service-linked-role --aws-service-name spot.amazonaws.com',
    });
  }

  const nodeRole = await planRole(aws.iam, d.nodeRole, d.own);
  findings.push(...nodeRole.findings);
  add(nodeRole.changes, (ch) => applyRoleChange(aws.iam, d.nodeRole, ch));

  for (const spec of d.controllerPolicies) {
    const p = await planPolicy(aws.iam, spec, d.own);
    findings.push(...p.findings);
    add([p.change], (ch) => applyPolicy(aws.iam, spec, ch));
  }

  const issuer = eks.identity?.oidc?.issuer;
  if (c.prereqs.identity === 'irsa' && issuer) {
    const oidc = await planOidcProvider(aws.iam, {
      partition: d.partition,
      accountId: d.account,
      issuer,
      tags: d.tags,
    });
    if (oidc.some((x) => x.action === 'create')) {
      findings.push({
        level: 'info',
        code: 'irsa-oidc-provider-missing',
        message: `the cluster's OIDC issuer is not registered in IAM; IRSA cannot work until it is, so the plan registers it`,
      });
    }
    add(oidc, (ch) => applyOidcProvider(aws.iam, issuer, d.tags, ch));
  }

  const controllerRole = await planRole(aws.iam, d.controllerRole, d.own);
  findings.push(...controllerRole.findings);
  add(controllerRole.changes, (ch) => applyRoleChange(aws.iam, d.controllerRole, ch));

  const queue = await planQueue(aws.sqs, d.queue, d.own);
  findings.push(...queue.findings);
  add([queue.change], (ch) => applyQueue(aws.sqs, d.queue, ch));

  const rules = buildInterruptionRules(c.karpenter.version, c.cluster);
  const ruleplan = await planRules(aws.events, rules, d.queueArn, d.own, d.tags);
  findings.push(...ruleplan.findings);
  for (const [i, ch] of ruleplan.changes.entries()) {
    const spec = rules[i]!;
    add([ch], (x) => applyRule(aws.events, spec, d.queueArn, d.tags, x));
  }

  if (c.prereqs.identity === 'pod-identity') {
    const pi: PodIdentityInput = {
      cluster: c.cluster,
      namespace: c.karpenter.namespace,
      serviceAccount: CONTROLLER_SERVICE_ACCOUNT,
      roleArn: d.controllerRoleArn,
      tags: d.tags,
    };
    const piChanges = await planPodIdentity(aws.eks, pi);
    // The agent first: an association is useless until the agent hands out its credentials.
    piChanges.sort((a, b) => Number(b.kind === 'EKS addon') - Number(a.kind === 'EKS addon'));
    if (piChanges.some((x) => x.kind === 'EKS addon' && x.action === 'no-op')) {
      findings.push(...(await checkAgentHealth(ctx)));
    } else {
      findings.push({
        level: 'info',
        code: 'pod-identity-agent-missing',
        message: `the ${POD_IDENTITY_AGENT} addon is not installed; without it the controller gets no credentials, so the plan installs it`,
      });
    }
    add(piChanges, (ch) => applyPodIdentity(aws.eks, pi, ch));
  }

  const access: NodeAccessInput = {
    cluster: c.cluster,
    authenticationMode: eks.accessConfig?.authenticationMode ?? 'CONFIG_MAP',
    nodeRoleArn: d.nodeRoleArn,
    method: c.prereqs.nodeAccess,
    tags: d.tags,
  };
  const na = await planNodeAccess({ eks: aws.eks, kube: ctx.kube }, access);
  findings.push(...na.findings);
  add(na.changes, (ch) => applyNodeAccess({ eks: aws.eks, kube: ctx.kube }, access, ch));

  const planner = await planPlannerAccess(ctx.kube, {
    cluster: c.cluster,
    ...(eks.version ? { kubernetesVersion: eks.version } : {}),
  });
  findings.push(...planner.findings);
  add(planner.changes, (ch) => applyPlannerAccess(ctx.kube, planner, ch));

  const nodeClasses = fromManifests(ctx, 'EC2NodeClass');
  const wanted = buildDiscoveryTags(
    c.cluster,
    nodeClasses.map((m) => m.obj),
  );
  const targets = await readDiscoveryTargets(aws.eks, c.cluster, eks);
  const tags = await planDiscoveryTags({ ec2: aws.ec2 }, [
    ...targets.subnets.map((id) => ({ id, tags: wanted.subnets })),
    ...targets.securityGroups.map((id) => ({ id, tags: wanted.securityGroups })),
  ]);
  findings.push(...tags.findings);
  add(tags.changes, (ch) => applyDiscoveryTag({ ec2: aws.ec2 }, ch));

  // Preflight on what the cluster will look like once this plan is applied.
  const planned: PlannedTags = new Map();
  for (const ch of tags.changes) {
    if (ch.action !== 'create') continue;
    const t = ch.after as { resource: string; key: string; value: string };
    planned.set(t.resource, { ...(planned.get(t.resource) ?? {}), [t.key]: t.value });
  }
  const ncs = nodeClasses.map((m) => ({ obj: m.obj, file: m.file, line: m.line }));
  findings.push(...(await checkSelectors(aws.ec2, eks, ncs, planned)));
  if (eks.version) findings.push(...(await checkAmiAliases(aws.ssm, aws.ec2, eks.version, ncs)));
  findings.push(...(await checkClusterCapacity(ctx.kube)));

  return { stage: 'prereqs', changes, findings, notes: [] };
}

/** An installed Pod Identity agent that is not ACTIVE hands out no credentials. */
async function checkAgentHealth(ctx: PrereqsContext): Promise<Finding[]> {
  const addon = (
    await ctx.aws.eks.send(
      new DescribeAddonCommand({ clusterName: ctx.cluster.cluster, addonName: POD_IDENTITY_AGENT }),
    )
  ).addon;
  if (!addon || addon.status === 'ACTIVE' || addon.status === 'CREATING' || addon.status === 'UPDATING')
    return [];
  const issues = (addon.health?.issues ?? []).map((i) => `${i.code ?? ''}: ${i.message ?? ''}`).join('; ');
  return [
    {
      level: 'warning',
      code: 'pod-identity-agent-unhealthy',
      message: `the ${POD_IDENTITY_AGENT} addon is ${addon.status ?? 'in an unknown state'}${issues ? ` (${issues})` : ''}; the controller will get no credentials`,
      fix: `aws eks describe-addon --cluster-name ${ctx.cluster.cluster} --addon-name ${POD_IDENTITY_AGENT}, then repair or recreate it`,
    },
  ];
}

/**
 * Carries out the planned changes in their order. The first failure stops the stage, because later
 * changes depend on earlier ones (a rule on its queue, an attachment on its role); every write is an
 * upsert, so the next run picks up exactly where this one stopped.
 */
async function applyPrereqs(ctx: PrereqsContext, plan: StagePlan): Promise<StageResult> {
  const results: AppliedChange[] = [];
  for (const ch of plan.changes) {
    if (ch.action === 'no-op') continue;
    const applier = ctx.appliers?.get(ch.ref);
    if (!applier) {
      results.push({ ref: ch.ref, action: ch.action, outcome: 'failed', message: 'not planned in this run' });
      break;
    }
    try {
      results.push(await applier(ch));
    } catch (e) {
      const err = e as Error;
      results.push({
        ref: ch.ref,
        action: ch.action,
        outcome: 'failed',
        message: `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`,
      });
      break;
    }
  }
  return { stage: 'prereqs', changes: results, ok: results.every((r) => r.outcome !== 'failed') };
}

export const prereqsStage: Stage<PrereqsContext> = {
  name: 'prereqs',
  plan: planPrereqs,
  apply: applyPrereqs,
};
