import { Refusal } from '../errors.ts';
import { PLANNER_GROUP, PLANNER_POLICY, PLANNER_ROLE } from '../stages/prereqs/planner-access.ts';
import { buildPrincipalArn, type PrincipalArn } from './aws-credentials.ts';
import { KubeApiError, type KubeHttp } from './kube-http.ts';

/**
 * The one permission the access check asks about. Every command needs it: the install stage patches
 * CRDs, and a plan's server-side dry runs are authorized exactly like the writes they preview (the
 * planner role has it too; its policy lets only dry-runs through).
 */
export const REQUIRED_ACCESS = {
  verb: 'patch',
  group: 'apiextensions.k8s.io',
  resource: 'customresourcedefinitions',
} as const;

export const CLUSTER_ADMIN_POLICY = 'AmazonEKSClusterAdminPolicy';

/** Where the run's Kubernetes credentials come from, which decides what an access error can advise. */
export type ClusterAccessSource =
  | {
      kind: 'eks';
      cluster: string;
      region: string;
      /** From DescribeCluster's accessConfig; undefined is read as CONFIG_MAP, the mode of older clusters. */
      authenticationMode: string | undefined;
      /** The caller's ARN as STS reports it; read only when access fails. */
      callerArn: () => Promise<string>;
      /** role-to-assume, whose ARN carries the role's path that STS leaves out. */
      roleArn?: string;
    }
  | { kind: 'kubeconfig'; path: string };

/** Who the cluster says the run is. */
export interface ClusterUser {
  username: string | undefined;
  groups: string[];
}

interface SelfSubjectReview {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}
interface SelfSubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

const isStatus = (e: unknown, ...codes: number[]) => e instanceof KubeApiError && codes.includes(e.code);

/**
 * What to create so that an IAM principal gets cluster admin, by the cluster's authentication mode:
 * an access entry with the cluster-admin access policy (API, API_AND_CONFIG_MAP), or a `mapRoles` /
 * `mapUsers` entry in aws-auth (CONFIG_MAP, whose role ARNs never carry a path).
 */
export function renderAccessFix(
  principal: PrincipalArn,
  cluster: string,
  region: string,
  authenticationMode: string | undefined,
): string[] {
  const mode = authenticationMode ?? 'CONFIG_MAP';
  const partition = principal.arn.split(':')[1] ?? 'aws';
  if (mode === 'API' || mode === 'API_AND_CONFIG_MAP') {
    const lines = [
      `the cluster's authentication mode is ${mode}: give ${principal.arn} an access entry with cluster admin`,
      `aws eks create-access-entry --cluster-name ${cluster} --principal-arn ${principal.arn} --region ${region}`,
      `aws eks associate-access-policy --cluster-name ${cluster} --principal-arn ${principal.arn} --policy-arn arn:${partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_POLICY} --access-scope type=cluster --region ${region}`,
    ];
    if (!principal.pathKnown)
      lines.push(
        `STS does not report role paths: if the role was created with a path, use its full ARN (arn:${partition}:iam::<account>:role/<path>/<name>) in both commands`,
      );
    lines.push(
      `for the read-only plan role, instead: an access entry with --kubernetes-groups ${PLANNER_GROUP} and no access policy, plus the planner objects (karpenter-action iam-policy prints both)`,
    );
    return lines;
  }
  const user = principal.kind === 'user';
  const entry = [
    `- ${user ? 'userarn' : 'rolearn'}: ${principal.pathFreeArn}`,
    '  username: karpenter-action',
    '  groups:',
    '    - system:masters',
  ].join('\n');
  return [
    `the cluster's authentication mode is ${mode}${authenticationMode ? '' : ' (DescribeCluster reported none)'}: add this entry to ${user ? 'mapUsers' : 'mapRoles'} in the aws-auth ConfigMap of kube-system (kubectl edit -n kube-system configmap/aws-auth):\n${entry}`,
    `or with eksctl: eksctl create iamidentitymapping --cluster ${cluster} --region ${region} --arn ${principal.pathFreeArn} --username karpenter-action --group system:masters`,
    `or switch the cluster to access entries (aws eks update-cluster-config --name ${cluster} --access-config authenticationMode=API_AND_CONFIG_MAP) and create one for ${principal.arn}`,
    `for the read-only plan role, instead: the group ${PLANNER_GROUP} in place of system:masters, plus the planner objects (karpenter-action iam-policy prints both)`,
  ];
}

/**
 * What a caller in the planner group needs when the cluster denies it: the planner objects, which
 * nobody has applied yet (a brand-new cluster) or someone removed. An admin applies them once; from
 * then on the prereqs stage keeps them.
 */
export function renderPlannerBootstrap(user: ClusterUser): string[] | undefined {
  if (!user.groups.includes(PLANNER_GROUP)) return undefined;
  return [
    `it is in the planner group ${PLANNER_GROUP}, which no ClusterRole grants what a plan needs yet: the planner objects (ClusterRole and ClusterRoleBinding ${PLANNER_ROLE}, ValidatingAdmissionPolicy and binding ${PLANNER_POLICY}) are not in the cluster`,
    `a cluster admin applies them once: karpenter-action iam-policy --cluster <name> --format manifests | kubectl apply --server-side --field-manager=karpenter-action -f - (Kubernetes 1.30 or later); the action's prereqs stage keeps them from then on`,
  ];
}

/**
 * Refuses an apply by the read-only planner before it takes the apply lock: the dry-run-only policy
 * would refuse its first write anyway, but this says why, where a bare 403 would not.
 */
export function evaluateApplyIdentity(user: ClusterUser): void {
  if (!user.groups.includes(PLANNER_GROUP)) return;
  throw new Refusal(
    `this run's identity${user.username ? ` "${user.username}"` : ''} is the read-only plan role (group ${PLANNER_GROUP}): it may plan, never apply; nothing was changed`,
    [
      `the ValidatingAdmissionPolicy ${PLANNER_POLICY} refuses every write from that group that is not a dry-run`,
      'apply with the apply role (role-to-assume), from the protected environment, after the plan is approved',
    ],
  );
}

/**
 * Fails early, with what to do, when the run's principal cannot use the cluster, instead of a bare
 * 401 or 403 deep in a stage. A SelfSubjectReview says whether the cluster knows the caller at all
 * (401: no access entry or aws-auth mapping); a SelfSubjectAccessReview says whether it may do what
 * every command needs. For EKS credentials the refusal names the IAM principal and the commands (or
 * the aws-auth entry) that grant access; for a kubeconfig it states the 401 or 403 plainly. Other
 * errors (network, 5xx) pass through unchanged.
 */
export async function checkClusterAccess(
  http: Pick<KubeHttp, 'request' | 'server'>,
  source: ClusterAccessSource,
): Promise<ClusterUser> {
  const what = `${REQUIRED_ACCESS.verb} ${REQUIRED_ACCESS.resource}`;
  const refuse = async (unknown: boolean, user?: ClusterUser, reason?: string): Promise<never> => {
    const seen = user?.username
      ? `the cluster sees it as user "${user.username}"${user.groups.length > 0 ? ` in groups ${user.groups.join(', ')}` : ''}`
      : undefined;
    const planner = user && !unknown ? renderPlannerBootstrap(user) : undefined;
    if (planner) {
      const who =
        source.kind === 'kubeconfig'
          ? `the credentials of kubeconfig ${source.path}`
          : `the IAM principal ${buildPrincipalArn(await source.callerArn(), source.roleArn).arn}`;
      throw new Refusal(
        `${who} may not ${what} on ${source.kind === 'eks' ? `EKS cluster ${source.cluster}` : http.server}: the cluster maps it to the read-only planner, whose objects are missing`,
        [seen, ...planner, reason].filter((d): d is string => !!d),
      );
    }
    if (source.kind === 'kubeconfig') {
      throw new Refusal(
        unknown
          ? `the cluster at ${http.server} rejected the credentials of kubeconfig ${source.path} (401 Unauthorized)`
          : `the credentials of kubeconfig ${source.path} may not ${what} on ${http.server} (403 Forbidden), which every command needs`,
        [seen, reason].filter((d): d is string => !!d),
      );
    }
    const principal = buildPrincipalArn(await source.callerArn(), source.roleArn);
    const message = unknown
      ? `the IAM principal ${principal.arn} cannot use EKS cluster ${source.cluster}: the cluster does not know it (401 Unauthorized; it has no access entry or aws-auth mapping)`
      : `the IAM principal ${principal.arn} may not ${what} on EKS cluster ${source.cluster}, which every command needs (a plan's server-side dry runs are authorized like the writes they preview)`;
    throw new Refusal(
      message,
      [
        seen,
        reason,
        ...renderAccessFix(principal, source.cluster, source.region, source.authenticationMode),
      ].filter((d): d is string => !!d),
    );
  };

  let user: ClusterUser = { username: undefined, groups: [] };
  try {
    const review = await http.request<SelfSubjectReview>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      },
    );
    user = { username: review?.status?.userInfo?.username, groups: review?.status?.userInfo?.groups ?? [] };
  } catch (e) {
    if (isStatus(e, 401)) return refuse(true);
    // Clusters before Kubernetes 1.28 serve no v1 SelfSubjectReview; the access review still answers.
    if (!isStatus(e, 403, 404)) throw e;
  }

  let review: SelfSubjectAccessReview | undefined;
  try {
    review = await http.request<SelfSubjectAccessReview>(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { ...REQUIRED_ACCESS } },
        },
      },
    );
  } catch (e) {
    if (isStatus(e, 401)) return refuse(true);
    if (isStatus(e, 403)) return refuse(false, user, (e as KubeApiError).message);
    throw e;
  }
  if (!review?.status?.allowed) return refuse(false, user, review?.status?.reason);
  return user;
}
