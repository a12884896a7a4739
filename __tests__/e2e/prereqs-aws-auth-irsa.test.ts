/**
 * The prereqs stage through the bundled action on a CONFIG_MAP cluster with IRSA: the node role goes
 * into aws-auth next to every existing entry, an edit of aws-auth made between plan and apply
 * survives, the cluster's OIDC issuer is registered and the controller role trusts it; a plan with an
 * error-level finding (a role of that name the action does not own) is refused before any write.
 */
import { rmSync } from 'node:fs';
import {
  DeleteOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { parse } from 'yaml';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { canonicalizePolicy } from '../../src/plan/iam-policy.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import {
  accountSession,
  actionEnv,
  adminKube,
  deleteCluster,
  newCluster,
  ownAccount,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';

let cluster: ClusterInfo;
let workspace: string;
let env: Record<string, string>;
let admin: KubeHttp;
let iam: IAMClient;
let principalArn: string;

const AWS_AUTH = '/api/v1/namespaces/kube-system/configmaps/aws-auth';
type ConfigMap = { metadata: { resourceVersion: string }; data: Record<string, string> };

function writeConfig(prereqs: string): void {
  writeClusterConfig(workspace, cluster, { extra: `prereqs:\n${prereqs}` });
}
const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'prereqs', ...inputs }, env, workspace });

async function appendMapRoles(entry: string): Promise<void> {
  const cm = await admin.request<ConfigMap>('GET', AWS_AUTH);
  await admin.request('PUT', AWS_AUTH, {
    body: { ...cm, data: { ...cm.data, mapRoles: `${cm.data.mapRoles ?? ''}${entry}` } },
  });
}

beforeAll(async () => {
  const account = ownAccount();
  const session = await accountSession(account);
  principalArn = session.principalArn;
  cluster = await newCluster({
    accountId: account,
    authenticationMode: 'CONFIG_MAP',
    withClusterAutoscaler: false,
  });
  admin = new KubeHttp(adminKube(cluster));
  // the platform team's CI role is mapped as an admin, the way CONFIG_MAP clusters grant access
  await appendMapRoles(`- rolearn: ${principalArn}\n  username: ci\n  groups:\n    - system:masters\n`);
  env = { ...actionEnv(), ...session.env };
  iam = new IAMClient({
    region: cluster.region,
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: {
      accessKeyId: session.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: session.env.AWS_SECRET_ACCESS_KEY!,
      sessionToken: session.env.AWS_SESSION_TOKEN!,
    },
  });
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('aws-auth keeps every entry, including one added between plan and apply; IRSA registers the issuer', async () => {
  await iam.send(
    new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: cluster.oidcProviderArn }),
  );
  writeConfig('  identity: irsa\n');
  const before = await admin.request<ConfigMap>('GET', AWS_AUTH);

  const planned = await run({ command: 'plan' });
  expect(planned.code).toBe(0);
  const plan = readPlan(planned.outputs['plan-path']!);
  const nodeRoleArn = `arn:aws:iam::${cluster.accountId}:role/KarpenterNodeRole-${cluster.name}`;
  const kinds = actionable(plan).map((c) => c.kind);
  expect(kinds).toContain('IAM OIDC provider');
  expect(kinds).toContain('aws-auth mapping');
  expect(kinds).not.toContain('EKS access entry');
  expect(kinds).not.toContain('EKS Pod Identity association');
  expect(plan.stages[0]!.findings.map((f) => f.code)).toContain('irsa-oidc-provider-missing');

  // someone maps another role while the plan waits for approval
  const added = `arn:aws:iam::${cluster.accountId}:role/added-meanwhile`;
  await appendMapRoles(`- rolearn: ${added}\n  username: added\n  groups:\n    - viewers\n`);

  const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect(applied.stdout).not.toContain('::error::');
  expect(applied.code).toBe(0);

  const after = await admin.request<ConfigMap>('GET', AWS_AUTH);
  expect(after.data.mapRoles!.startsWith(before.data.mapRoles!)).toBe(true);
  const roles = (
    parse(after.data.mapRoles!) as { rolearn: string; username: string; groups: string[] }[]
  ).map((r) => r.rolearn);
  expect(roles).toEqual([cluster.nodeRoleArn, principalArn, added, nodeRoleArn]);
  expect(after.data.mapUsers).toBe(before.data.mapUsers);

  const providers = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  const host = cluster.oidcIssuer.replace(/^https:\/\//, '');
  expect(providers.OpenIDConnectProviderList?.map((p) => p.Arn)).toEqual([
    `arn:aws:iam::${cluster.accountId}:oidc-provider/${host}`,
  ]);
  const role = await iam.send(new GetRoleCommand({ RoleName: `${cluster.name}-karpenter` }));
  expect(canonicalizePolicy(role.Role!.AssumeRolePolicyDocument)).toEqual(
    canonicalizePolicy({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${cluster.accountId}:oidc-provider/${host}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${host}:aud`]: 'sts.amazonaws.com',
              [`${host}:sub`]: 'system:serviceaccount:kube-system:karpenter',
            },
          },
        },
      ],
    }),
  );

  const again = await run({ command: 'plan' });
  expect(actionable(readPlan(again.outputs['plan-path']!))).toEqual([]);
});

test('an error-level finding stops apply before any write', async () => {
  // the node group's role exists and is not the action's: taking it over needs adopt
  const nodegroupRole = cluster.nodeRoleArn.split('/').pop()!;
  writeConfig(
    `  identity: irsa\n  nodeRoleName: ${nodegroupRole}\n  controllerRoleName: ${cluster.name}-ctrl2\n`,
  );
  const refused = await run({ command: 'apply', 'auto-approve': 'true' });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('nothing was applied');
  expect(refused.stdout).toContain(
    `IAM role ${nodegroupRole} exists and was not created by karpenter-action`,
  );
  await expect(iam.send(new GetRoleCommand({ RoleName: `${cluster.name}-ctrl2` }))).rejects.toBeInstanceOf(
    NoSuchEntityException,
  );
});
