/**
 * The early cluster-access check against the sandbox's real kube-apiserver, whose EKS-style webhook
 * maps an EKS token's principal through access entries or aws-auth: an unknown principal is refused
 * with what to create for the cluster's authentication mode, a known one without rights is refused as
 * such, and once the refusal's advice is followed the check passes.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CreateAccessEntryCommand, EKSClient } from '@aws-sdk/client-eks';
import { KubeConfig } from '@kubernetes/client-node';
import { buildAwsClients, readAccountId, type AwsClients } from '../../src/adapters/aws.ts';
import { checkClusterAccess, type ClusterAccessSource } from '../../src/adapters/kube-access.ts';
import { buildEksKubeConfig, readEksCluster } from '../../src/adapters/kube-connect.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import { runIamPolicy } from '../../src/commands/iam-policy.ts';
import {
  applyPlannerAccess,
  PLANNER_GROUP,
  planPlannerAccess,
} from '../../src/stages/prereqs/planner-access.ts';
import { Refusal } from '../../src/errors.ts';
import { TEST_CREDENTIALS, withAccount } from '../../sandbox/lib/aws.ts';
import {
  accountSession,
  adminKube,
  deleteCluster,
  grantClusterAdmin,
  newCluster,
  ownAccount,
  sandbox,
  useAwsEnv,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

const account = ownAccount();
let restoreEnv: () => void;
let apiCluster: ClusterInfo;
let configMapCluster: ClusterInfo;

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  [apiCluster, configMapCluster] = await Promise.all([
    newCluster({ accountId: account, authenticationMode: 'API', withClusterAutoscaler: false }),
    newCluster({ accountId: account, authenticationMode: 'CONFIG_MAP', withClusterAutoscaler: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([deleteCluster(apiCluster.name), deleteCluster(configMapCluster.name)]);
  restoreEnv();
});

/** A run as the given role of this account: its AWS clients, its Kubernetes client and the check's source. */
async function runAs(
  cluster: ClusterInfo,
  roleName: string,
  roleArn?: string,
): Promise<{ aws: AwsClients; http: KubeHttp; source: ClusterAccessSource }> {
  const session = await accountSession(account, roleName);
  const aws = buildAwsClients(cluster.region, () =>
    Promise.resolve({
      accessKeyId: session.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: session.env.AWS_SECRET_ACCESS_KEY!,
      sessionToken: session.env.AWS_SESSION_TOKEN,
    }),
  );
  const info = await readEksCluster(aws.eks, cluster.name);
  const http = new KubeHttp(buildEksKubeConfig(info, cluster.region, aws.credentials));
  return {
    aws,
    http,
    source: {
      kind: 'eks',
      cluster: cluster.name,
      region: cluster.region,
      authenticationMode: info.authenticationMode,
      callerArn: async () => (await readAccountId(aws)).arn,
      roleArn,
    },
  };
}

/** A workspace whose config names the cluster, for iam-policy. */
function planConfigWorkspace(cluster: ClusterInfo): string {
  const dir = mkdtempSync(join(tmpdir(), 'ka-access-'));
  mkdirSync(join(dir, '.github'));
  writeFileSync(
    join(dir, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}\nregion: ${cluster.region}\nkarpenter:\n  version: ${PREVIOUS}\nmanifests: []\n`,
  );
  return dir;
}

const refusalOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

test('DescribeCluster gives the authentication mode', async () => {
  const { source } = await runAs(apiCluster, 'mode-reader');
  expect(source.kind === 'eks' && source.authenticationMode).toBe('API');
});

test('API mode: a principal without an access entry is refused with the role ARN and both aws eks commands; after them it passes', async () => {
  const { http, source } = await runAs(apiCluster, 'karpenter-plan');
  const err = await refusalOf(checkClusterAccess(http, source));
  expect(err).toBeInstanceOf(Refusal);
  const role = `arn:aws:iam::${account}:role/karpenter-plan`;
  const refusal = err as Refusal;
  expect(refusal.message).toBe(
    `the IAM principal ${role} cannot use EKS cluster ${apiCluster.name}: the cluster does not know it (401 Unauthorized; it has no access entry or aws-auth mapping)`,
  );
  expect(refusal.details).toContain(
    `aws eks create-access-entry --cluster-name ${apiCluster.name} --principal-arn ${role} --region ${apiCluster.region}`,
  );
  expect(refusal.details).toContain(
    `aws eks associate-access-policy --cluster-name ${apiCluster.name} --principal-arn ${role} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster --region ${apiCluster.region}`,
  );
  expect(refusal.details.join('\n')).toMatch(/STS does not report role paths/);

  await grantClusterAdmin(apiCluster, role);
  const user = await checkClusterAccess(http, source);
  expect(user.groups).toContain('eks-access-policy:AmazonEKSClusterAdminPolicy');
});

test('API mode: role-to-assume supplies the path STS leaves out', async () => {
  const withPath = `arn:aws:iam::${account}:role/ci/karpenter-apply`;
  const { http, source } = await runAs(apiCluster, 'karpenter-apply', withPath);
  const refusal = (await refusalOf(checkClusterAccess(http, source))) as Refusal;
  expect(refusal.message).toMatch(new RegExp(`^the IAM principal ${withPath} cannot use EKS cluster`));
  expect(refusal.details.join('\n')).toContain(`--principal-arn ${withPath} `);
  expect(refusal.details.join('\n')).not.toMatch(/STS does not report role paths/);
});

test('API mode: a principal the cluster knows but that lacks rights is refused as such', async () => {
  const role = `arn:aws:iam::${account}:role/karpenter-viewer`;
  const eks = withAccount(
    new EKSClient({ region: apiCluster.region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  await eks.send(new CreateAccessEntryCommand({ clusterName: apiCluster.name, principalArn: role }));
  const { http, source } = await runAs(apiCluster, 'karpenter-viewer');
  const refusal = (await refusalOf(checkClusterAccess(http, source))) as Refusal;
  expect(refusal).toBeInstanceOf(Refusal);
  expect(refusal.message).toBe(
    `the IAM principal ${role} may not patch customresourcedefinitions on EKS cluster ${apiCluster.name}, which every command needs (a plan's server-side dry runs are authorized like the writes they preview)`,
  );
  expect(refusal.details[0]).toMatch(/^the cluster sees it as user "/);
  expect(refusal.details.join('\n')).toContain('aws eks associate-access-policy');
});

test('API mode: a plan role in the planner group before the planner objects exist is told exactly that; after the bootstrap it passes', async () => {
  const role = `arn:aws:iam::${account}:role/karpenter-action-plan`;
  const eks = withAccount(
    new EKSClient({ region: apiCluster.region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  await eks.send(
    new CreateAccessEntryCommand({
      clusterName: apiCluster.name,
      principalArn: role,
      kubernetesGroups: [PLANNER_GROUP],
    }),
  );
  const { http, source } = await runAs(apiCluster, 'karpenter-action-plan');
  const refusal = (await refusalOf(checkClusterAccess(http, source))) as Refusal;
  expect(refusal).toBeInstanceOf(Refusal);
  expect(refusal.message).toBe(
    `the IAM principal ${role} may not patch customresourcedefinitions on EKS cluster ${apiCluster.name}: the cluster maps it to the read-only planner, whose objects are missing`,
  );
  const details = refusal.details.join('\n');
  expect(details).toContain(`in groups ${PLANNER_GROUP}`);
  expect(details).toContain(
    'karpenter-action iam-policy --cluster <name> --format manifests | kubectl apply --server-side --field-manager=karpenter-action -f -',
  );
  expect(details).not.toContain('AmazonEKSClusterAdminPolicy');

  const admin = new KubeClient(new KubeHttp(adminKube(apiCluster)));
  const planned = await planPlannerAccess(admin, { cluster: apiCluster.name });
  for (const c of planned.changes) await applyPlannerAccess(admin, planned, c);
  const user = await checkClusterAccess(http, source);
  expect(user.groups).toContain(PLANNER_GROUP);
  expect(user.groups.some((g) => g.startsWith('eks-access-policy:'))).toBe(false);
});

test('CONFIG_MAP mode: the refusal gives the mapRoles entry, and adding it to aws-auth grants access', async () => {
  const { http, source } = await runAs(configMapCluster, 'karpenter-plan');
  const refusal = (await refusalOf(checkClusterAccess(http, source))) as Refusal;
  expect(refusal).toBeInstanceOf(Refusal);
  const role = `arn:aws:iam::${account}:role/karpenter-plan`;
  expect(refusal.message).toMatch(new RegExp(`^the IAM principal ${role} cannot use EKS cluster`));
  const advice = refusal.details[0]!;
  expect(advice).toMatch(/^the cluster's authentication mode is CONFIG_MAP: add this entry to mapRoles/);
  const entry = advice.slice(advice.indexOf('\n') + 1);
  expect(entry).toBe(`- rolearn: ${role}\n  username: karpenter-action\n  groups:\n    - system:masters`);
  expect(refusal.details.join('\n')).not.toContain('aws eks create-access-entry');

  const admin = new KubeHttp(adminKube(configMapCluster));
  const path = '/api/v1/namespaces/kube-system/configmaps/aws-auth';
  const cm = await admin.request<{ data?: Record<string, string> }>('GET', path);
  const mapRoles = `${(cm.data?.mapRoles ?? '').trimEnd()}\n${entry}\n`;
  await admin.request('PATCH', path, {
    body: { data: { mapRoles } },
    contentType: 'application/merge-patch+json',
  });
  const user = await checkClusterAccess(http, source);
  expect(user.username).toBe('karpenter-action');
  expect(user.groups).toContain('system:masters');
});

test("CONFIG_MAP mode: the plan role's aws-auth entry from iam-policy maps it to the planner group, which the planner objects make usable", async () => {
  const { document } = runIamPolicy({
    workspace: planConfigWorkspace(configMapCluster),
    accountId: account,
    repository: 'acme/infra',
    role: 'plan',
    format: 'json',
    env: {},
  });
  const entry = document.kubernetes.awsAuth[0]!;
  const roleName = document.plan!.roleName;
  expect(roleName).toBe(`karpenter-action-plan-${configMapCluster.name}`);
  expect(entry).toEqual({
    rolearn: `arn:aws:iam::${account}:role/${roleName}`,
    username: 'karpenter-action-planner:{{SessionName}}',
    groups: [PLANNER_GROUP],
  });
  const admin = new KubeHttp(adminKube(configMapCluster));
  const path = '/api/v1/namespaces/kube-system/configmaps/aws-auth';
  const cm = await admin.request<{ data?: Record<string, string> }>('GET', path);
  await admin.request('PATCH', path, {
    body: { data: { mapRoles: `${(cm.data?.mapRoles ?? '').trimEnd()}\n${stringify([entry])}` } },
    contentType: 'application/merge-patch+json',
  });
  const { http, source } = await runAs(configMapCluster, roleName);
  const refusal = (await refusalOf(checkClusterAccess(http, source))) as Refusal;
  expect(refusal.message).toMatch(/the cluster maps it to the read-only planner, whose objects are missing$/);

  const kube = new KubeClient(admin);
  const planned = await planPlannerAccess(kube, { cluster: configMapCluster.name });
  for (const c of planned.changes) await applyPlannerAccess(kube, planned, c);
  const user = await checkClusterAccess(http, source);
  expect(user.username).toMatch(/^karpenter-action-planner:/);
  expect(user.groups).toContain(PLANNER_GROUP);
});

test('a kubeconfig the cluster rejects gets a plain 401, without AWS advice', async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: apiCluster.endpoint,
        caData: Buffer.from(readFileSync(sandbox().pki.caCert)).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'u', token: 'not-a-valid-token' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const http = new KubeHttp(kc);
  const refusal = (await refusalOf(
    checkClusterAccess(http, { kind: 'kubeconfig', path: '/tmp/ci.kubeconfig' }),
  )) as Refusal;
  expect(refusal).toBeInstanceOf(Refusal);
  expect(refusal.message).toBe(
    `the cluster at ${http.server} rejected the credentials of kubeconfig /tmp/ci.kubeconfig (401 Unauthorized)`,
  );
  expect(refusal.details.join('\n')).not.toMatch(/aws eks|aws-auth/);
});

test('other failures pass through unchanged', async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  const err = await refusalOf(checkClusterAccess(new KubeHttp(kc), { kind: 'kubeconfig', path: 'k' }));
  expect(err).not.toBeInstanceOf(Refusal);
  expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
});
