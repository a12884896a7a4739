import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  readState,
  type ClusterInfo,
  type NewClusterOptions,
  type SandboxState,
} from '../../sandbox/lib/state.ts';
import { adminKubeConfig } from '../../sandbox/lib/kube-admin.ts';
import { E2E_RELEASES } from '../../sandbox/lib/karpenter.ts';

export { E2E_RELEASES };

export type { ClusterInfo, NewClusterOptions, SandboxState };

/** The running sandbox; jest's global setup guarantees there is one. */
export function sandbox(): SandboxState {
  const s = readState();
  if (!s) throw new Error('no sandbox is running: the jest global setup should have started it');
  return s;
}

/**
 * A fresh EKS cluster of its own (AWS resources in moto and its own kube-apiserver), so a test sees
 * no other test's state. Release it with deleteCluster in afterAll.
 */
export async function newCluster(opts: NewClusterOptions = {}): Promise<ClusterInfo> {
  const res = await fetch(`${sandbox().controlUrl}/clusters`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(opts),
  });
  const body = (await res.json()) as ClusterInfo & { error?: string };
  if (!res.ok) throw new Error(`creating a sandbox cluster failed: ${body.error ?? res.status}`);
  return body;
}

export async function deleteCluster(name: string): Promise<void> {
  await fetch(`${sandbox().controlUrl}/clusters/${encodeURIComponent(name)}`, { method: 'DELETE' });
}

/**
 * The environment a runner step would have: the AWS endpoint, test credentials and region, nothing
 * else. The action's code finds moto only through these variables.
 */
export function awsEnv(s: SandboxState = sandbox(), region = s.region): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: s.motoUrl,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
  };
}

/** A fresh moto account id, for tests of account-wide state (pass it to withAccount from sandbox/lib/aws.ts). */
export function ownAccount(): string {
  return String(200000000000 + Math.floor(Math.random() * 799999999999));
}

/** The environment of a runner step against the sandbox: awsEnv plus the sandbox's helm on the PATH. */
export function actionEnv(s: SandboxState = sandbox()): Record<string, string> {
  return { ...awsEnv(s), PATH: `${s.binDir}:${process.env.PATH ?? ''}` };
}

/** A config's karpenter.chartRepository pointing at the sandbox's local copy of a release's charts. */
export function localChartRepository(
  version: string = E2E_RELEASES.previous,
  s: SandboxState = sandbox(),
): string {
  const release = s.karpenter[version];
  if (!release) throw new Error(`the sandbox has no Karpenter ${version}`);
  return dirname(release.chartDir);
}

/** Applies awsEnv to this test process and returns a function that restores the previous values. */
export function useAwsEnv(extra: Record<string, string> = {}): () => void {
  const vars = { ...awsEnv(), ...extra };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * A system:masters client for a sandbox cluster. Tests use it only to play the parts no server plays
 * in the sandbox (Karpenter's controller, kube-controller-manager) and to inspect results.
 */
export function adminKube(cluster: ClusterInfo, s: SandboxState = sandbox()): KubeConfig {
  return adminKubeConfig(
    {
      endpoint: cluster.endpoint,
      caPem: readFileSync(s.pki.caCert, 'utf8'),
      clientCertPem: readFileSync(s.pki.adminCert, 'utf8'),
      clientKeyPem: readFileSync(s.pki.adminKey, 'utf8'),
    },
    cluster.name,
  );
}

/** Installs a Karpenter release's CRDs (standing in for the install stage) and waits until Established. */
export async function installKarpenterCrds(
  cluster: ClusterInfo,
  version: string = E2E_RELEASES.previous,
): Promise<void> {
  const { installKarpenterCrds: install } = await import('../../sandbox/lib/crds.ts');
  await install(sandbox(), cluster, version);
}

/**
 * Credentials of a role session in the given moto account, as configure-aws-credentials would leave
 * them on a runner: the action's AWS calls then land in that account, apart from every other test's.
 */
export async function accountSession(
  accountId: string,
  roleName = 'karpenter-action-ci',
): Promise<{ env: Record<string, string>; principalArn: string }> {
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const s = sandbox();
  const sts = new STSClient({
    region: s.region,
    endpoint: s.motoUrl,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const principalArn = `arn:aws:iam::${accountId}:role/${roleName}`;
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: principalArn, RoleSessionName: 'ci' })))
    .Credentials!;
  return {
    env: {
      AWS_ACCESS_KEY_ID: c.AccessKeyId!,
      AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!,
      AWS_SESSION_TOKEN: c.SessionToken!,
    },
    principalArn,
  };
}

/** Gives a principal cluster-admin on an API-mode cluster through an access entry, as a platform team would. */
export async function grantClusterAdmin(cluster: ClusterInfo, principalArn: string): Promise<void> {
  const { EKSClient, CreateAccessEntryCommand, AssociateAccessPolicyCommand } =
    await import('@aws-sdk/client-eks');
  const { withAccount } = await import('../../sandbox/lib/aws.ts');
  const s = sandbox();
  const eks = withAccount(
    new EKSClient({
      region: cluster.region,
      endpoint: s.motoUrl,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    }),
    cluster.accountId,
  );
  await eks.send(new CreateAccessEntryCommand({ clusterName: cluster.name, principalArn }));
  await eks.send(
    new AssociateAccessPolicyCommand({
      clusterName: cluster.name,
      principalArn,
      policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
      accessScope: { type: 'cluster' },
    }),
  );
}
