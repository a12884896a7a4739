/**
 * The two roles of the trust model set up in a sandbox account exactly as `karpenter-action iam-policy
 * --format json` prints them (IAM roles with its trust and permission policies, the access entries from
 * its aws CLI lines), the planner objects bootstrapped as its text tells an admin to, and the plan
 * role's own view of the cluster for tests that act as an attacker holding it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { buildAwsClients } from '../../src/adapters/aws.ts';
import { readOidcCredentials } from '../../src/adapters/aws-credentials.ts';
import { buildEksKubeConfig, readEksCluster } from '../../src/adapters/kube-connect.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { FIELD_MANAGER, KubeClient } from '../../src/adapters/kube.ts';
import { runIamPolicy, type IamPolicyDocument } from '../../src/commands/iam-policy.ts';
import { awaitPolicyEnforced } from '../../src/stages/prereqs/planner-access.ts';
import { TEST_CREDENTIALS, withAccount } from '../../sandbox/lib/aws.ts';
import { adminKube, sandbox, type ClusterInfo } from './sandbox.ts';

const exec = promisify(execFile);

/** The roles as iam-policy names them, with the repository the trust policies admit. */
export interface TrustModelRoles {
  document: IamPolicyDocument;
  plan: string;
  apply: string;
}

/**
 * Creates both roles and their cluster access from iam-policy's JSON for the workspace's config:
 * `create-role` named `.plan.roleName` with `.plan.trust`, `put-role-policy` named `.plan.policyName`
 * with `.plan.permissions` (and the same for apply), then every line of `.kubernetes.commands` run by the aws CLI, as the README's loop does.
 */
export async function createRolesFromIamPolicy(
  workspace: string,
  cluster: ClusterInfo,
  account: string,
  adminEnv: Record<string, string>,
): Promise<TrustModelRoles> {
  const { document } = runIamPolicy({
    workspace,
    accountId: account,
    repository: 'acme/infra',
    environment: 'karpenter-apply',
    format: 'json',
    env: {},
  });
  const iam = withAccount(
    new IAMClient({ region: cluster.region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  await iam
    .send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://token.actions.githubusercontent.com',
        ClientIDList: ['sts.amazonaws.com'],
      }),
    )
    .catch((e: unknown) => {
      if ((e as Error).name !== 'EntityAlreadyExistsException') throw e;
    });
  for (const role of ['plan', 'apply'] as const) {
    const policies = document[role]!;
    const name = policies.roleName;
    await iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(policies.trust) }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: policies.policyName,
        PolicyDocument: JSON.stringify(policies.permissions),
      }),
    );
  }
  for (const line of document.kubernetes.commands) {
    const [cmd, ...args] = line.split(' ');
    await exec(cmd!, [...args, '--endpoint-url', sandbox().motoUrl, '--output', 'json'], {
      env: { ...process.env, ...adminEnv },
    });
  }
  return {
    document,
    plan: document.kubernetes.principals.plan!,
    apply: document.kubernetes.principals.apply!,
  };
}

/**
 * What an admin does once before the first plan: the planner objects iam-policy prints, applied by
 * server-side apply with the action's field manager (`kubectl apply --server-side
 * --field-manager=karpenter-action`), policy first.
 */
export async function bootstrapPlanner(cluster: ClusterInfo, document: IamPolicyDocument): Promise<void> {
  const http = new KubeHttp(adminKube(cluster));
  const plurals: Record<string, string> = {
    ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
  };
  for (const o of document.kubernetes.planner!.manifests.items)
    await http.request(
      'PATCH',
      `/apis/${String(o.apiVersion)}/${plurals[String(o.kind)]!}/${String(o.metadata?.name)}`,
      { query: { fieldManager: FIELD_MANAGER }, contentType: 'application/apply-patch+yaml', body: o },
    );
  // a new policy reaches the admission chain a moment after it is stored; the tests start after that
  await awaitPolicyEnforced(new KubeClient(http));
}

/**
 * The cluster as the plan role sees it: a session bought with a job's OIDC token (from the given
 * token source, as `role-to-assume` does) and an EKS token of that session, nothing else.
 */
export async function planRoleKube(
  cluster: ClusterInfo,
  roleArn: string,
  getIdToken: () => Promise<string>,
): Promise<KubeClient> {
  const oidc = await readOidcCredentials({
    roleArn,
    sessionName: 'pull-request-step',
    region: cluster.region,
    getIdToken,
    mask: () => undefined,
  });
  const aws = buildAwsClients(cluster.region, oidc.provider);
  const eks = await readEksCluster(aws.eks, cluster.name);
  return new KubeClient(new KubeHttp(buildEksKubeConfig(eks, cluster.region, aws.credentials)));
}

/** A job token from the OIDC stand-in, as `core.getIDToken` fetches it. */
export function idTokenFrom(standIn: { url: string; requestToken: string }): () => Promise<string> {
  return async () => {
    const res = await fetch(`${standIn.url}&audience=sts.amazonaws.com`, {
      headers: { authorization: `Bearer ${standIn.requestToken}` },
    });
    return ((await res.json()) as { value: string }).value;
  };
}
